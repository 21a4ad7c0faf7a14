import { splitConfiguredList, isToken } from './header-list'
import { compileOriginRule, type OriginRule } from './origin-matcher'
import type { RouteCorsOptions } from './schema'
import { staticDecisions, type Decision, type StaticDecisions } from './decision'

export type HeaderPair = readonly [name: string, value: string]

/** How `Access-Control-Allow-Headers` is decided. */
export type AllowedHeadersRule =
  | { readonly mode: 'reflect' }
  | { readonly mode: 'any', readonly named: ReadonlySet<string> }
  | { readonly mode: 'list', readonly named: ReadonlySet<string> }

/** Everything a request needs, computed once from the options: the hooks only look things up. */
export interface Policy {
  readonly enabled: boolean
  readonly origin: OriginRule
  /** The exact origins listed, for near-miss hints. */
  readonly allowedOrigins: readonly string[]
  readonly credentials: boolean
  /** `Vary` for responses to simple requests, or `undefined` when they do not depend on the origin. */
  readonly vary: string | undefined
  /** Sent with `Access-Control-Allow-Origin` on allowed responses (credentials, exposed headers). */
  readonly responseHeaders: readonly HeaderPair[]
  /** Preflight headers that do not depend on the request. */
  readonly preflightHeaders: readonly HeaderPair[]
  readonly preflightVary: string | undefined
  readonly methods: ReadonlySet<string>
  readonly anyMethod: boolean
  readonly allowedHeaders: AllowedHeadersRule
  readonly allowedHeadersValue: string | undefined
  readonly preflight: boolean
  readonly strictPreflight: boolean
  readonly preflightContinue: boolean
  readonly optionsSuccessStatus: number
  readonly deniedPreflightStatus: number
  readonly decisions: StaticDecisions
  /** Allowed preflight answers, built on first use (see `decidePreflight`). */
  readonly preflightAnswers: PreflightAnswers
}

/** Allowed preflight answers by origin decision, then by the method and headers asked for. */
export type PreflightAnswers = Map<Decision, Map<string, Decision>>

/** A route's compiled policy, plus the raw overrides a delegator's options are merged with. */
export interface RouteEntry {
  readonly policy: Policy
  readonly overrides: RouteCorsOptions | false | undefined
}

/** The defaults of @fastify/cors v11, plus ours. */
export const policyDefaults = Object.freeze({
  origin: '*',
  methods: 'GET,HEAD,POST',
  credentials: false,
  preflightContinue: false,
  optionsSuccessStatus: 204,
  deniedPreflightStatus: 403,
  preflight: true,
  strictPreflight: true,
  originTimeout: 5000
} satisfies RouteCorsOptions)

/**
 * @param decidedPerRequest the options came from a delegator for this request, so every answer
 *   depends on the request, whatever the origin option says
 */
export function compilePolicy (input: RouteCorsOptions, decidedPerRequest = false): Policy {
  const options = { ...policyDefaults, ...withoutUndefined(input) }
  const origin = compileOriginRule(options.origin, {
    timeout: options.originTimeout,
    cache: options.originCache === undefined || options.originCache === false
      ? undefined
      : { max: options.originCache.max, ttl: options.originCache.ttl ?? 0 }
  })
  const credentials = options.credentials
  const originVaries = decidedPerRequest || origin.type === 'match' || origin.type === 'dynamic'

  const responseHeaders: HeaderPair[] = []
  if (credentials) responseHeaders.push(['access-control-allow-credentials', 'true'])
  const exposed = optionalHeaderValue(options.exposedHeaders)
  if (exposed !== undefined) responseHeaders.push(['access-control-expose-headers', exposed])

  const methodList = splitConfiguredList(options.methods).filter(isToken)
  const allowedHeaders = allowedHeadersRule(options.allowedHeaders, credentials)
  const allowedHeadersValue = optionalHeaderValue(options.allowedHeaders)

  const preflightHeaders: HeaderPair[] = [...responseHeaders]
  preflightHeaders.push(['access-control-allow-methods', headerValue(options.methods)])
  if (allowedHeaders.mode === 'list' && allowedHeadersValue !== undefined) {
    preflightHeaders.push(['access-control-allow-headers', allowedHeadersValue])
  }
  if (typeof options.maxAge === 'number') preflightHeaders.push(['access-control-max-age', String(options.maxAge)])
  const cacheControl = typeof options.cacheControl === 'number' ? `max-age=${options.cacheControl}` : options.cacheControl
  if (cacheControl !== undefined) preflightHeaders.push(['cache-control', cacheControl])

  // Fetch standard, "CORS protocol and HTTP caches": a response that depends on a request header
  // must say so in Vary, or a shared cache serves one origin's answer to another.
  const preflightVary = [
    originVaries ? 'Origin' : undefined,
    allowedHeaders.mode === 'list' ? undefined : 'Access-Control-Request-Headers'
  ].filter(name => name !== undefined).join(', ')

  const policy = {
    enabled: origin.type !== 'off',
    origin,
    allowedOrigins: listedOrigins(options.origin),
    credentials,
    vary: originVaries ? 'Origin' : undefined,
    responseHeaders: Object.freeze(responseHeaders),
    preflightHeaders: Object.freeze(preflightHeaders),
    preflightVary: preflightVary === '' ? undefined : preflightVary,
    methods: new Set(methodList),
    anyMethod: !credentials && methodList.includes('*'),
    allowedHeaders,
    allowedHeadersValue,
    preflight: options.preflight,
    strictPreflight: options.strictPreflight,
    preflightContinue: options.preflightContinue,
    optionsSuccessStatus: options.optionsSuccessStatus,
    deniedPreflightStatus: options.deniedPreflightStatus
  }
  return Object.freeze({ ...policy, decisions: staticDecisions(policy), preflightAnswers: new Map() })
}

/** A policy for `config: { cors: false }`: the plugin leaves such a route alone. */
export const disabledPolicy = compilePolicy({ origin: false })

function allowedHeadersRule (value: RouteCorsOptions['allowedHeaders'], credentials: boolean): AllowedHeadersRule {
  if (value === undefined || value === null) return { mode: 'reflect' }
  const names = splitConfiguredList(value).filter(isToken)
  const named = new Set(names.map(name => name.toLowerCase()))
  // With credentials a browser reads '*' as a header literally named "*" (Fetch standard).
  return !credentials && named.has('*') ? { mode: 'any', named } : { mode: 'list', named }
}

function optionalHeaderValue (value: string | readonly string[] | null | undefined): string | undefined {
  return value === undefined || value === null ? undefined : headerValue(value)
}

/** The header value as @fastify/cors writes it (string as given, arrays joined), minus invalid entries. */
function headerValue (value: string | readonly string[]): string {
  const entries = splitConfiguredList(value)
  const valid = entries.filter(isToken)
  if (valid.length !== entries.length) return valid.join(', ')
  return typeof value === 'string' ? value : value.join(', ')
}

function withoutUndefined<T extends object> (input: T): Partial<T> {
  const result: Partial<T> = {}
  for (const key of Object.keys(input) as Array<keyof T>) {
    if (input[key] !== undefined) result[key] = input[key]
  }
  return result
}

function listedOrigins (origin: RouteCorsOptions['origin']): string[] {
  const entries = Array.isArray(origin) ? origin : [origin]
  return entries.filter((entry): entry is string => typeof entry === 'string' && !entry.includes('*'))
}
