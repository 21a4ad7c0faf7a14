import { LruMap } from 'toad-cache'
import { callUser } from './ask'
import { Deadlines } from './deadlines'
import type { OriginFunction } from './schema'

export interface ResolverLimits {
  /** Milliseconds before an unanswered call fails; 0 waits forever. */
  readonly timeout: number
  /** A bounded cache of answers by origin, or none. */
  readonly cache: { readonly max: number, readonly ttl: number } | undefined
}

/**
 * More distinct origins than this waiting on the function at once are refused without calling it,
 * so a hanging or slow resolver cannot make requests (and memory) pile up.
 */
export const MAX_PENDING_LOOKUPS = 1000

/**
 * Calls a user's origin function with limits: one call per origin at a time (concurrent requests
 * from one origin share it), a timeout, and an optional LRU cache of answers.
 */
export class OriginResolver {
  readonly #resolve: OriginFunction
  readonly #deadlines: Deadlines
  readonly #answers: LruMap<unknown> | undefined
  readonly #pending = new Map<string, Promise<unknown>>()

  constructor (resolve: OriginFunction, limits: ResolverLimits) {
    this.#resolve = resolve
    this.#deadlines = new Deadlines(limits.timeout)
    this.#answers = limits.cache === undefined ? undefined : new LruMap(limits.cache.max, limits.cache.ttl)
  }

  answer (origin: string, thisArg: unknown): Promise<unknown> {
    const cached = this.#answers?.get(origin)
    if (cached !== undefined) return Promise.resolve(cached)
    const pending = this.#pending.get(origin)
    if (pending !== undefined) return pending
    if (this.#pending.size >= MAX_PENDING_LOOKUPS) {
      return Promise.reject(new Error(`more than ${MAX_PENDING_LOOKUPS} origins are waiting on the origin function`))
    }
    // One promise per lookup, shared by every request from the origin while it runs; the answer,
    // the failure and the timeout each settle it and end the lookup.
    let ended = false
    const call = new Promise<unknown>((resolve, reject) => {
      const end = (): void => {
        ended = true
        this.#pending.delete(origin)
      }
      const wait = this.#deadlines.start(error => { end(); reject(error) })
      callUser(this.#resolve, thisArg, origin,
        answer => {
          if (!this.#deadlines.finish(wait)) return
          end()
          if (answer !== undefined) this.#answers?.set(origin, answer)
          resolve(answer)
        },
        (error: unknown) => {
          if (!this.#deadlines.finish(wait)) return
          end()
          reject(error)
        })
    })
    // A function that answers at once has already ended its lookup: nothing to share.
    if (ended) return call
    this.#pending.set(origin, call)
    return call
  }

  /** How many answers are cached (for tests and monitoring). */
  get cachedAnswers (): number {
    return this.#answers?.size ?? 0
  }
}
