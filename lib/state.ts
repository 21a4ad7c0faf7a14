import type { FastifyBaseLogger } from 'fastify'
import { configure, configureRoute, type Settings } from './configure'
import { CorsConfigError, type ConfigProblem } from './errors'
import type { RouteEntry } from './policy'

/**
 * A route as the plugin knows it: its `config.cors` as written, and a name for messages. Slots live
 * as long as the routes; what they compile to lives in a `CorsState` and is replaced as a whole.
 */
export interface RouteSlot {
  readonly overrides: unknown
  readonly name: string
}

/** Everything the hooks read, immutable once built: replacing it swaps every policy at once. */
export interface CorsState {
  readonly settings: Settings
  readonly defaultEntry: RouteEntry
  /** The compiled entry of a slot; the plugin's own options for routes it does not know. */
  entry: (slot: RouteSlot | undefined) => RouteEntry
  /** Compiles a route added after the state was built (at boot, as routes are declared). */
  add: (slot: RouteSlot) => void
}

export function buildState (options: unknown, slots: Iterable<RouteSlot>, log: FastifyBaseLogger): CorsState {
  const settings = configure(options, log)
  const entries = new Map<RouteSlot, RouteEntry>()
  const add = (slot: RouteSlot): void => {
    if (slot.overrides !== undefined) entries.set(slot, configureRoute(slot.overrides, settings, slot.name, log))
  }
  const problems: ConfigProblem[] = []
  for (const slot of slots) {
    try {
      add(slot)
    } catch (error) {
      problems.push(...(error as CorsConfigError).problems.map(problem => ({ ...problem, path: `${slot.name} ${problem.path}` })))
    }
  }
  if (problems.length > 0) throw new CorsConfigError(problems, 'the routes under the new CORS options')
  return Object.freeze({
    settings,
    defaultEntry: settings.defaultEntry,
    entry: (slot: RouteSlot | undefined) => (slot === undefined ? undefined : entries.get(slot)) ?? settings.defaultEntry,
    add
  })
}
