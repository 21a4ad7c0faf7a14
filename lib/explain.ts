import type { FastifyInstance, FastifyRequest } from 'fastify'
import { decide } from './decide'
import { REFLECT, type Decision, type ReasonCode } from './decision'
import { denialOf } from './denials'
import type { RouteEntry } from './policy'
import { describe } from './reasons'
import type { RouteTable } from './route-table'
import type { CorsState, RouteSlot } from './state'
import { isSafelistedMethod, normalizeMethod, unsafeRequestHeaderNames, type RequestHeader } from './fetch-rules'

export interface CorsExplainInput {
  /** Path and query, as the page's script calls it. */
  url: string
  /** The method the script uses (default GET); normalized as fetch() does. */
  method?: string
  /** The page's origin; leave it out for a request without Origin. */
  origin?: string
  /**
   * Headers the script sets: names, or names with values. Give Content-Type's value to know
   * whether it needs a preflight; as a bare name it is taken to need one (as JSON does).
   */
  requestHeaders?: readonly string[] | Readonly<Record<string, string>>
  /** fetch(…, { credentials: 'include' }) */
  credentials?: boolean
  /** The Host the request goes to, for host-constrained routes. */
  host?: string
}

export interface CorsExplanation {
  verdict: 'allowed' | 'blocked' | 'not-cors'
  reason: ReasonCode
  message: string
  hint?: string
  /** The route that serves the request, as the plugin knows it. */
  route?: string
  /** The preflight a browser would send first, or null when none is needed. */
  preflight: null | { status: number, headers: Record<string, string>, reason: ReasonCode, message: string }
  /** The CORS headers of the actual response. */
  response: { headers: Record<string, string> }
}

export function createExplain (getState: () => CorsState, routes: RouteTable<RouteSlot>, fastify: FastifyInstance) {
  return async function explain (input: CorsExplainInput): Promise<CorsExplanation> {
    const state = getState()
    const method = normalizeMethod(input.method ?? 'GET')
    const requestHeaders = unsafeRequestHeaderNames(requestedHeaders(input.requestHeaders)).join(',')
    const needsPreflight = !isSafelistedMethod(method) || requestHeaders !== ''
    const slot = routes.find(method, input.url, input.host)
    const entry = state.entry(slot)
    const origin = input.origin
    const request = pseudoRequest(input, method, needsPreflight, requestHeaders)

    let preflight: CorsExplanation['preflight'] = null
    if (origin !== undefined && needsPreflight) {
      const query = { method, requestHeaders: requestHeaders === '' ? undefined : requestHeaders, incomplete: false }
      const decision = await decide(state, entry, origin, query, request, fastify)
      const verdict = browserVerdict(decision, origin, input.credentials === true, true)
      // A preflight the plugin does not answer reaches the routes: 404 unless the app has an OPTIONS route.
      preflight = { status: decision.status ?? 404, headers: headersOf(decision, origin), reason: verdict, message: describe({ reason: verdict, detail: decision.detail }) }
      if (verdict !== 'allowed') return finish('blocked', verdict, decision, entry, request, preflight, {}, slot)
    }
    const decision = await decide(state, entry, origin, undefined, { ...request, method } as FastifyRequest, fastify)
    const response = headersOf(decision, origin)
    if (origin === undefined) return finish('not-cors', 'no-origin', decision, entry, request, preflight, response, slot)
    const verdict = browserVerdict(decision, origin, input.credentials === true, false)
    return finish(verdict === 'allowed' ? 'allowed' : 'blocked', verdict, decision, entry, request, preflight, response, slot)
  }
}

function finish (
  verdict: CorsExplanation['verdict'], reason: ReasonCode, decision: Decision, entry: RouteEntry, request: FastifyRequest,
  preflight: CorsExplanation['preflight'], response: Record<string, string>, slot: RouteSlot | undefined
): CorsExplanation {
  const explained = { reason, detail: decision.detail }
  const hint = reason === decision.reason ? denialOf(decision, entry.policy, request, preflight !== null).hint : undefined
  return {
    verdict,
    reason,
    message: describe(explained),
    ...(hint === undefined ? {} : { hint }),
    ...(slot === undefined ? {} : { route: slot.name }),
    preflight,
    response: { headers: response }
  }
}

/** What a browser concludes from the plugin's decision (Fetch standard: CORS check). */
function browserVerdict (decision: Decision, origin: string, credentials: boolean, preflight: boolean): ReasonCode {
  if (decision.allowOrigin === undefined || !decision.owned) return decision.reason
  const allowOrigin = decision.allowOrigin === REFLECT ? origin : decision.allowOrigin
  if (allowOrigin === '*' ? credentials : allowOrigin !== origin) return credentials && allowOrigin === '*' ? 'credentials-not-allowed' : 'origin-not-allowed'
  if (credentials && !decision.headers.some(([name, value]) => name === 'access-control-allow-credentials' && value === 'true')) return 'credentials-not-allowed'
  if (preflight && decision.status === undefined) return 'preflight-not-answered'
  return decision.reason
}

function headersOf (decision: Decision, origin: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {}
  if (decision.owned && decision.allowOrigin !== undefined) {
    headers['access-control-allow-origin'] = decision.allowOrigin === REFLECT ? origin as string : decision.allowOrigin
    for (const [name, value] of decision.headers) headers[name] = value
  }
  if (decision.vary !== undefined) headers.vary = decision.vary
  return headers
}

/** Bare names are taken with an empty value: Content-Type then needs a preflight, as for JSON. */
function requestedHeaders (input: CorsExplainInput['requestHeaders']): RequestHeader[] {
  if (input === undefined) return []
  return Array.isArray(input)
    ? (input as readonly string[]).map(name => ({ name, value: '' }))
    : Object.entries(input).map(([name, value]) => ({ name, value }))
}

/** What a delegator sees of an explained request: its method, URL and headers. */
function pseudoRequest (input: CorsExplainInput, method: string, preflight: boolean, requestHeaders: string): FastifyRequest {
  const headers: Record<string, string> = {}
  if (input.origin !== undefined) headers.origin = input.origin
  if (input.host !== undefined) headers.host = input.host
  if (preflight) {
    headers['access-control-request-method'] = method
    if (requestHeaders !== '') headers['access-control-request-headers'] = requestHeaders
  }
  return { method: preflight ? 'OPTIONS' : method, url: input.url, headers } as unknown as FastifyRequest
}
