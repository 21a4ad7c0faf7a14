import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { isIntended, parseAllowed, sampleOrigin, type AllowedEntry } from './allowed'
import { attackOrigins, ORIGIN_ATTACK_CATEGORIES, type OriginAttack } from './attacks'
import { attackPreflights, type PreflightAttack } from './preflights'

/** Anything with Fastify's `inject`: a Fastify instance, ready or not. */
export interface Injectable {
  inject (options: InjectOptions): Promise<LightMyRequestResponse>
}

export interface CorsAttackRoute {
  readonly url: string
  /** The method pages call the route with; default GET. */
  readonly method?: string
}

export interface CorsAttackOptions {
  /**
   * Every origin the attacked routes mean to allow: origins as browsers send them
   * ('https://app.example.com'), patterns ('https://*.example.com', 'http://localhost:*'), 'null'.
   */
  readonly allowed: readonly string[]
  /** The routes to attack, as a URL (called with GET) or `{ url, method }`. Default: GET /. */
  readonly routes?: ReadonlyArray<string | CorsAttackRoute>
  /** The non-safelisted request headers the app's pages send; preflights ask for them. */
  readonly requestHeaders?: readonly string[]
  /**
   * Origins the app allows on other routes but not on these. Each must be refused here too,
   * including by preflights to look-alike URLs of the route (`/path/`, `//path`, `/PATH`...).
   */
  readonly otherOrigins?: readonly string[]
  /** `Access-Control-Allow-Origin: *` without credentials is intended (a public API). Default false. */
  readonly publicWildcard?: boolean
  /** Milliseconds a request may take before it counts as hung. Default 10 000. */
  readonly timeout?: number
}

export type CorsAttack = OriginAttack | PreflightAttack

export interface InjectedRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

/**
 * One step of the attack. `request`: the actual request a page would send; `preflight`: its
 * preflight; `route-variant`: a preflight to a look-alike URL, followed (`followUp`) by the actual
 * request when the preflight lets it through.
 */
export interface CorsProbe {
  readonly type: 'request' | 'preflight' | 'route-variant'
  readonly attack: CorsAttack
  readonly request: InjectedRequest
  readonly followUp?: InjectedRequest
}

export type CorsFindingKind =
  | 'wrong-allow' | 'unlisted-origin' | 'wildcard' | 'wildcard-with-credentials' | 'preflight-mismatch'
  | 'server-error' | 'crash' | 'timeout'

export interface CorsFinding {
  readonly kind: CorsFindingKind
  /** One line: the request, the attack, what went wrong. */
  readonly message: string
  readonly attack: CorsAttack
  /** The request whose answer is at fault. */
  readonly request: InjectedRequest
  readonly status?: number
  /** The answer's Access-Control-* and Vary headers. */
  readonly headers?: Readonly<Record<string, string>>
}

/** Every request `runCorsAttacks` starts with, in order; follow-ups depend on the answers. */
export function planCorsAttacks (options: CorsAttackOptions): CorsProbe[] {
  const entries = parseAllowed(options.allowed)
  const first = entries[0]
  if (first === undefined) throw new TypeError('allowed must list at least one origin the routes allow')
  const allowedOrigin = sampleOrigin(first)
  const requestHeaders = browserHeaderList(options.requestHeaders ?? [])
  const originAttacks = attackOrigins(options.allowed)
  const generated = new Set(originAttacks.map(attack => attack.origin))
  const otherRoutes: OriginAttack[] = [...new Set(options.otherOrigins ?? [])]
    .filter(origin => !isIntended(origin, entries) && !generated.has(origin))
    .map(origin => ({ kind: 'origin', category: 'other-route', origin, imitates: undefined }))
  const probes: CorsProbe[] = []
  for (const { url, method } of (options.routes ?? ['/']).map(normalizeRoute)) {
    for (const attack of [...originAttacks, ...otherRoutes]) {
      probes.push({ type: 'request', attack, request: { method, url, headers: { origin: attack.origin } } })
      probes.push({ type: 'preflight', attack, request: preflight(url, attack.origin, method, requestHeaders) })
    }
    for (const attack of attackPreflights()) {
      const request = preflight(url, allowedOrigin, attack.requestMethod ?? method, attack.requestHeaders ?? requestHeaders)
      probes.push({ type: 'preflight', attack, request })
    }
    for (const variant of urlVariants(url)) {
      for (const attack of otherRoutes) {
        const followUp = { method, url: variant, headers: { origin: attack.origin } }
        probes.push({ type: 'route-variant', attack, request: preflight(variant, attack.origin, method, requestHeaders), followUp })
      }
    }
  }
  return probes
}

/**
 * Sends every attack to `app` (through `inject`, one at a time) and returns what a browser page on
 * a hostile origin could exploit, plus any 5xx, crash or hang. An empty array means none found.
 */
export async function runCorsAttacks (app: Injectable, options: CorsAttackOptions): Promise<CorsFinding[]> {
  const probes = planCorsAttacks(options)
  const context: Context = {
    app,
    entries: parseAllowed(options.allowed),
    publicWildcard: options.publicWildcard === true,
    timeout: options.timeout ?? 10_000
  }
  const findings: CorsFinding[] = []
  for (const probe of probes) {
    const finding = await runProbe(context, probe)
    if (finding !== undefined) findings.push(finding)
  }
  return findings
}

/** The findings' messages, one a line: for assertion messages. */
export function formatFindings (findings: readonly CorsFinding[]): string {
  return findings.map(finding => `[${finding.kind}] ${finding.message}`).join('\n')
}

interface Context {
  readonly app: Injectable
  readonly entries: readonly AllowedEntry[]
  readonly publicWildcard: boolean
  readonly timeout: number
}

type Verdict = readonly [kind: CorsFindingKind, what: string]

async function runProbe (context: Context, probe: CorsProbe): Promise<CorsFinding | undefined> {
  const { attack, request } = probe
  const answer = await send(context, request)
  if (typeof answer === 'function') return answer(probe, request)
  const headers = corsHeaders(answer)
  const report = ([kind, what]: Verdict, at = request, status = answer.statusCode, atHeaders = headers): CorsFinding =>
    ({ kind, message: `${describeRequest(at, attack)}: ${what}`, attack, request: at, status, headers: atHeaders })

  if (answer.statusCode >= 500) return report(['server-error', `answered ${answer.statusCode}`])
  if (attack.kind === 'preflight') return undefined
  // Fetch standard, CORS-preflight fetch: a preflight without an ok status fails whatever its headers.
  if (probe.type !== 'request' && (answer.statusCode < 200 || answer.statusCode > 299)) return undefined
  if (probe.type !== 'route-variant') {
    const verdict = judgeAllowOrigin(context, headers, attack.origin)
    return verdict === undefined ? undefined : report(verdict)
  }

  // A look-alike URL may lead to another route, or to none, whose policy allows the origin: only a
  // preflight that disagrees with the request it lets through is a fault.
  if (!allowsOrigin(headers, attack.origin)) return undefined
  const followUp = probe.followUp as InjectedRequest
  const actual = await send(context, followUp)
  if (typeof actual === 'function') return actual(probe, followUp)
  const actualHeaders = corsHeaders(actual)
  const reportActual = (verdict: Verdict): CorsFinding => report(verdict, followUp, actual.statusCode, actualHeaders)
  if (actual.statusCode >= 500) return reportActual(['server-error', `answered ${actual.statusCode}`])
  if (allowsOrigin(actualHeaders, attack.origin)) return undefined
  return reportActual(['preflight-mismatch', `the preflight to this URL allowed the origin (status ${answer.statusCode}), ` +
    `but the answer to the request itself does not (status ${actual.statusCode}): the preflight was decided under ` +
    "another policy than the route's, so the page could send a request the route forbids"])
}

function allowsOrigin (headers: Readonly<Record<string, string>>, origin: string): boolean {
  const allowOrigin = headers['access-control-allow-origin']
  return allowOrigin === origin || allowOrigin === '*'
}

/** Would a page on `origin` read this answer, or is an origin outside `allowed` let in? */
function judgeAllowOrigin (context: Context, headers: Readonly<Record<string, string>>, origin: string): Verdict | undefined {
  const allowOrigin = headers['access-control-allow-origin']
  if (allowOrigin === undefined) return undefined
  const credentials = headers['access-control-allow-credentials'] === 'true'
  if (allowOrigin === '*') {
    if (credentials) return ['wildcard-with-credentials', "answers Access-Control-Allow-Origin '*' with Access-Control-Allow-Credentials: true"]
    return context.publicWildcard ? undefined : ['wildcard', "answers Access-Control-Allow-Origin '*': any site can read it"]
  }
  if (allowOrigin === origin) {
    return ['wrong-allow', `Access-Control-Allow-Origin reflects it${credentials ? ', with credentials' : ''}: a page there can read the answer`]
  }
  if (!isIntended(allowOrigin, context.entries)) {
    return ['unlisted-origin', `Access-Control-Allow-Origin is ${show(allowOrigin)}, which allowed does not list`]
  }
  return undefined
}

type Failure = (probe: CorsProbe, request: InjectedRequest) => CorsFinding

/** The answer, or a function that reports why there is none. */
async function send (context: Context, request: InjectedRequest): Promise<LightMyRequestResponse | Failure> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const hung = new Promise<Failure>(resolve => {
    timer = setTimeout(resolve, context.timeout, failure('timeout', `no answer within ${context.timeout} ms`))
  })
  const injected = Promise.resolve()
    .then(() => context.app.inject({ ...request, method: request.method as InjectOptions['method'], headers: { ...request.headers } }))
  const outcome = await Promise.race([injected, hung]).catch((error: unknown) =>
    failure('crash', `inject failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`))
  clearTimeout(timer)
  return outcome
}

function failure (kind: CorsFindingKind, what: string): Failure {
  return ({ attack }, request) => ({ kind, message: `${describeRequest(request, attack)}: ${what}`, attack, request })
}

function describeRequest (request: InjectedRequest, attack: CorsAttack): string {
  const route = `${request.method} ${show(request.url)}`
  if (attack.kind === 'preflight') return `${route} preflight with ${attack.label}`
  const imitates = attack.imitates === undefined ? '' : `, imitating ${attack.imitates}`
  return `${route} with Origin ${show(attack.origin)} (${attack.category}${imitates}: ${ORIGIN_ATTACK_CATEGORIES[attack.category]})`
}

function show (value: string): string {
  return JSON.stringify(value.length > 80 ? value.slice(0, 60) : value) + (value.length > 80 ? `... (${value.length} characters)` : '')
}

function corsHeaders (response: LightMyRequestResponse): Record<string, string> {
  const result: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) {
    if (name.startsWith('access-control-') || name === 'vary') result[name] = Array.isArray(value) ? value.join(', ') : String(value)
  }
  return result
}

function normalizeRoute (route: string | CorsAttackRoute): { url: string, method: string } {
  const { url, method = 'GET' } = typeof route === 'string' ? { url: route } : route
  if (!url.startsWith('/')) throw new TypeError(`routes: ${JSON.stringify(url)} is not a URL path starting with '/'`)
  return { url, method }
}

/** Fetch standard: CORS-unsafe request-header names are sent lowercase, sorted, joined with ','. */
function browserHeaderList (names: readonly string[]): string | undefined {
  const list = [...new Set(names.map(name => name.toLowerCase()))].sort().join(',')
  return list === '' ? undefined : list
}

function preflight (url: string, origin: string, method: string, requestHeaders: string | undefined): InjectedRequest {
  const headers: Record<string, string> = { origin, 'access-control-request-method': method }
  if (requestHeaders !== undefined) headers['access-control-request-headers'] = requestHeaders
  return { method: 'OPTIONS', url, headers }
}

/** URLs a router may treat as the route's own, depending on its options. */
function urlVariants (url: string): string[] {
  const queryStart = url.indexOf('?')
  const path = queryStart === -1 ? url : url.slice(0, queryStart)
  const query = queryStart === -1 ? '' : url.slice(queryStart)
  const variants = [
    path.endsWith('/') ? path.slice(0, -1) : `${path}/`,
    `/${path}`,
    path.toUpperCase(),
    path.replace(/^\/([a-z])/i, (_, letter: string) => `/%${letter.charCodeAt(0).toString(16)}`),
    `${path};cors-probe`
  ].filter(variant => variant !== '' && variant !== path).map(variant => variant + query)
  variants.push(`${path}${query === '' ? '?' : `${query}&`}cors-probe`)
  return [...new Set(variants)]
}
