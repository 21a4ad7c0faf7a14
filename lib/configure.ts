import type { FastifyBaseLogger } from 'fastify'
import { isThenable } from './ask'
import { Deadlines } from './deadlines'
import type { DenialSettings } from './denials'
import { CorsConfigError, formatProblem, printable, problemCodes } from './errors'
import { compilePolicy, disabledPolicy, policyDefaults, type Policy, type RouteEntry } from './policy'
import { CorsOptionsSchema, RouteCorsOptionsSchema, type CorsOptions, type CorsOptionsDelegate, type RouteCorsOptions } from './schema'
import { checkMeaning, checkShape, withoutKeys, type KeyedProblem } from './validate'

export type HookName = NonNullable<CorsOptions['hook']>

/** The plugin's options after validation: plugin-wide settings plus the compiled default policy. */
export interface Settings {
  readonly hook: HookName
  readonly hideOptionsRoute: boolean
  readonly logLevel: CorsOptions['logLevel']
  readonly strict: boolean
  readonly delegator: CorsOptionsDelegate | undefined
  /** Bounds each delegator call by `originTimeout`. */
  readonly delegatorDeadlines: Deadlines
  readonly debug: boolean
  readonly denials: DenialSettings
  /** The per-request options, as the user wrote them: routes and delegators merge over these. */
  readonly base: Readonly<RouteCorsOptions>
  readonly defaultEntry: RouteEntry
}

const pluginOnlyKeys = new Set(['hook', 'delegator', 'hideOptionsRoute', 'logLevel', 'strict', 'prefix', 'logSerializers', 'logDenials', 'onDenied', 'debug'])

/** Options that shape routes and hooks at registration, and so cannot change in `update()`. */
const fixedKeys = ['hook', 'hideOptionsRoute', 'logLevel'] as const

/** Validates and compiles the plugin's options; throws one error listing every fatal problem. */
export function configure (input: unknown, log: FastifyBaseLogger): Settings {
  if (typeof input === 'function') input = { delegator: input }
  if (isThenable(input)) {
    // Fastify calls a function given as options with the instance: an async delegator passed
    // there arrives here as a promise. Taking it for empty options would mean origin '*'.
    throw new CorsConfigError([{
      code: problemCodes.INVALID_TYPE,
      severity: 'error',
      path: '(options)',
      value: '[promise]',
      message: 'the options are a promise. Fastify calls a function passed as options with the Fastify instance; ' +
        'pass a delegator as { delegator: async (request) => options } or as () => async (request) => options.'
    }])
  }
  // Fastify passes {} when register() is given no options.
  const options = input as Record<string, unknown>
  const strict = options.strict !== false
  enforce([...checkShape(options, CorsOptionsSchema, ''), ...checkMeaning(options, '')], strict, log, 'the CORS options')

  const base: Record<string, unknown> = {}
  for (const key of Object.keys(options)) if (!pluginOnlyKeys.has(key)) base[key] = options[key]
  const typed = options as CorsOptions
  return Object.freeze({
    hook: typed.hook ?? 'onRequest',
    hideOptionsRoute: typed.hideOptionsRoute ?? true,
    logLevel: typed.logLevel,
    strict,
    delegator: typed.delegator,
    delegatorDeadlines: new Deadlines(typed.originTimeout ?? policyDefaults.originTimeout),
    debug: typed.debug ?? false,
    denials: Object.freeze({
      level: typed.logDenials === false ? false : typed.logDenials?.level ?? 'info',
      perMinute: (typed.logDenials === false ? undefined : typed.logDenials?.perMinute) ?? 10,
      onDenied: typed.onDenied
    }),
    base: Object.freeze(base as RouteCorsOptions),
    defaultEntry: Object.freeze({ policy: compilePolicy(base as RouteCorsOptions), overrides: undefined })
  })
}

const DISABLED_ENTRY: RouteEntry = Object.freeze({ policy: disabledPolicy, overrides: false })

/** Validates and compiles a route's `config.cors` when the route is added. */
export function configureRoute (overrides: unknown, settings: Settings, routeName: string, log: FastifyBaseLogger): RouteEntry {
  if (overrides === false) return DISABLED_ENTRY
  const where = `${routeName} config.cors`
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new CorsConfigError([{
      code: problemCodes.INVALID_TYPE,
      severity: 'error',
      path: 'config.cors',
      value: printable(overrides),
      message: 'expected false (CORS off for this route) or an object of CORS options.'
    }], where)
  }
  const route = overrides as Record<string, unknown>
  const merged = { ...settings.base, ...route }
  const problems = [
    ...checkShape(route, RouteCorsOptionsSchema, 'config.cors.'),
    // Judge the merged options, but blame the route only for what it sets itself.
    ...checkMeaning(merged, 'config.cors.').filter(problem => problem.keys.some(key => Object.hasOwn(route, key)))
  ]
  enforce(problems, settings.strict, log, where)
  return Object.freeze({ policy: compilePolicy(merged as RouteCorsOptions), overrides: route as RouteCorsOptions })
}

const delegatedPolicies = new WeakMap<object, WeakMap<RouteEntry, Policy>>()

/**
 * Compiles what a delegator returned for one request, merged with the plugin's and the route's
 * options. Compiled once per returned object; a delegator that returns the same object pays nothing
 * per request. Returns the problems instead when the options are unusable.
 */
export function compileDelegated (delegated: object, settings: Settings, entry: RouteEntry): Policy | KeyedProblem[] {
  if (entry.overrides === false) return entry.policy
  let perRoute = delegatedPolicies.get(delegated)
  const cached = perRoute?.get(entry)
  if (cached !== undefined) return cached
  const options = delegated as Record<string, unknown>
  const merged = { ...settings.base, ...options, ...entry.overrides }
  const problems = [...checkShape(options, RouteCorsOptionsSchema, ''), ...checkMeaning(merged, '')]
    .filter(problem => problem.severity === 'error' || (problem.severity === 'unsafe' && settings.strict))
  if (problems.length > 0) return problems
  const policy = compilePolicy(merged as RouteCorsOptions, true)
  if (perRoute === undefined) {
    perRoute = new WeakMap()
    delegatedPolicies.set(delegated, perRoute)
  }
  perRoute.set(entry, policy)
  return policy
}

/** `update()` may change every per-request option, but not what was wired at registration. */
export function checkFixedOptions (settings: Settings, options: CorsOptions): void {
  const problems = fixedKeys
    .filter(key => options[key] !== undefined && options[key] !== settings[key])
    .map(key => ({
      code: problemCodes.FIXED_OPTION,
      severity: 'error' as const,
      path: key,
      value: printable(options[key]),
      message: `${key} is fixed when the plugin is registered (it is ${printable(settings[key])}); register the plugin again to change it.`
    }))
  if (problems.length > 0) throw new CorsConfigError(problems, 'the options given to fastify.cors.update()')
}

function enforce (problems: readonly KeyedProblem[], strict: boolean, log: FastifyBaseLogger, where: string): void {
  const fatal = problems.filter(problem => problem.severity === 'error' || (problem.severity === 'unsafe' && strict))
  if (fatal.length > 0) throw new CorsConfigError(fatal.map(withoutKeys), where)
  for (const problem of problems) {
    log.warn({ code: problem.code, path: problem.path }, `fastify-cors-guard: ${where}: ${formatProblem(problem)}`)
  }
}
