// What a browser decides: whether a call needs a preflight, and whether a preflight or an actual
// response lets the page through. Pure: responses come in as a status and a header map.
import {
  type RequestHeader,
  isForbiddenResponseHeader,
  isSafelistedMethod,
  isSafelistedResponseHeader,
  parseTokenList,
  unsafeRequestHeaderNames
} from '../fetch-rules'

export type { RequestHeader } from '../fetch-rules'

/** Lower-case names; repeated headers joined with ", " as the Fetch standard's "get" does. */
export type HeaderMap = Readonly<Record<string, string>>

export interface BrowserRequest {
  readonly url: URL
  /** Serialized origin of the calling page, e.g. `https://app.example.com`, or `null`. */
  readonly origin: string
  /** As fetch() sends it (already normalized). */
  readonly method: string
  readonly headers: readonly RequestHeader[]
  /** fetch(…, { credentials: 'include' }) */
  readonly credentials: boolean
}

export interface RequestPlan {
  /** The browser does not apply CORS when the page and the URL share an origin. */
  readonly sameOrigin: boolean
  /** Why a preflight is needed; empty when it is not. */
  readonly preflightReasons: readonly string[]
  readonly unsafeHeaderNames: readonly string[]
}

export interface ProbeResponse {
  readonly status: number
  readonly headers: HeaderMap
}

export type FindingCode =
  | 'preflight-redirected'
  | 'preflight-not-ok'
  | 'allow-origin-missing'
  | 'allow-origin-mismatch'
  | 'allow-origin-multiple'
  | 'allow-origin-wildcard-with-credentials'
  | 'allow-credentials-missing'
  | 'allow-methods-invalid'
  | 'method-not-allowed'
  | 'method-wildcard-with-credentials'
  | 'allow-headers-invalid'
  | 'header-not-allowed'
  | 'header-wildcard-with-credentials'
  | 'authorization-not-covered-by-wildcard'
  | 'vary-missing-origin'
  | 'expose-headers-invalid'
  | 'expose-wildcard-with-credentials'
  | 'actual-redirected'

export interface Finding {
  readonly code: FindingCode
  readonly message: string
  readonly fix: string
}

export interface StepVerdict {
  readonly allowed: boolean
  readonly problems: readonly Finding[]
  readonly warnings: readonly Finding[]
  readonly notes: readonly string[]
}

export interface PreflightVerdict extends StepVerdict {
  /** How long Chromium may reuse this preflight. */
  readonly cacheSeconds: number
}

export interface ActualVerdict extends StepVerdict {
  /** Response header names a script can read; empty when the call is blocked. */
  readonly readableHeaders: readonly string[]
}

// Chromium's preflight cache: 5 s without a valid Access-Control-Max-Age, never more than 7200 s.
const DEFAULT_CACHE_SECONDS = 5
const CHROMIUM_MAX_CACHE_SECONDS = 7200

export function planRequest (request: BrowserRequest): RequestPlan {
  const unsafeHeaderNames = unsafeRequestHeaderNames(request.headers)
  const preflightReasons: string[] = []
  // Fetch standard: a CORS request needs a preflight for a non-safelisted method or header.
  if (!isSafelistedMethod(request.method)) {
    preflightReasons.push(`the method ${request.method} is not GET, HEAD or POST`)
  }
  if (unsafeHeaderNames.length > 0) {
    const contentTypeHint = unsafeHeaderNames.includes('content-type')
      ? ' (Content-Type is, only as application/x-www-form-urlencoded, multipart/form-data or text/plain)'
      : ''
    preflightReasons.push(`the request headers ${unsafeHeaderNames.join(', ')} are not CORS-safelisted${contentTypeHint}`)
  }
  return { sameOrigin: request.url.origin === request.origin, preflightReasons, unsafeHeaderNames }
}

/** Fetch standard: "CORS-preflight fetch" builds exactly these headers. */
export function preflightRequestHeaders (request: BrowserRequest, plan: RequestPlan): Record<string, string> {
  const headers: Record<string, string> = {
    accept: '*/*',
    origin: request.origin,
    'access-control-request-method': request.method
  }
  if (plan.unsafeHeaderNames.length > 0) {
    headers['access-control-request-headers'] = plan.unsafeHeaderNames.join(',')
  }
  return headers
}

export function actualRequestHeaders (request: BrowserRequest): Record<string, string> {
  // Fetch standard: the browser sends `Accept: */*` unless the script set an Accept header.
  return Object.fromEntries([
    ['accept', '*/*'],
    ...request.headers.map((header) => [header.name, header.value]),
    ['origin', request.origin]
  ])
}

export function checkPreflight (response: ProbeResponse, request: BrowserRequest, plan: RequestPlan): PreflightVerdict {
  // A browser stops at the first failure; the doctor reports every change the server needs.
  const problems = [
    ...preflightStatusProblems(response),
    ...corsCheckProblems(response.headers, request),
    ...methodProblems(response.headers, request),
    ...headerProblems(response.headers, request, plan)
  ]
  const cache = preflightCache(response.headers['access-control-max-age'])
  return {
    allowed: problems.length === 0,
    problems,
    warnings: varyWarnings(response.headers),
    notes: [cache.note],
    cacheSeconds: cache.seconds
  }
}

export function checkActualResponse (response: ProbeResponse, request: BrowserRequest): ActualVerdict {
  const problems = corsCheckProblems(response.headers, request)
  const exposure = readableResponseHeaders(response.headers, request.credentials)
  return {
    allowed: problems.length === 0,
    problems,
    warnings: [...redirectWarnings(response), ...varyWarnings(response.headers), ...exposure.warnings],
    notes: response.status >= 400
      ? [`the server answered ${response.status}; CORS decides only whether the page may read it`]
      : [],
    readableHeaders: problems.length === 0 ? exposure.names : []
  }
}

function finding (code: FindingCode, message: string, fix: string): Finding {
  return { code, message, fix }
}

function shown (value: string | undefined): string {
  return value === undefined ? 'absent' : `"${value}"`
}

function preflightStatusProblems ({ status, headers }: ProbeResponse): Finding[] {
  // Fetch standard: a preflight needs an ok status (200-299); redirects are not followed.
  if (status >= 200 && status <= 299) return []
  const answerHere = 'the server must answer the OPTIONS preflight at this URL with a 2xx status (204 is usual) and the CORS headers'
  if (status >= 300 && status <= 399) {
    return [finding('preflight-redirected',
      `the preflight got a ${status} redirect (Location: ${headers.location ?? 'absent'}); a browser never follows a redirect for a preflight`,
      `${answerHere}, or the page must call the final URL directly`)]
  }
  return [finding('preflight-not-ok', `the preflight got status ${status}; a browser needs 200-299`,
    `${answerHere}${statusHint(status)}`)]
}

function statusHint (status: number): string {
  if (status === 401 || status === 403) {
    return '; a preflight carries no cookies or Authorization, so authentication must let OPTIONS through'
  }
  if (status === 404 || status === 405) return '; no route answers OPTIONS here, so a CORS plugin must answer preflights'
  return ''
}

/** Fetch standard: "CORS check". */
function corsCheckProblems (headers: HeaderMap, request: BrowserRequest): Finding[] {
  const allowOrigin = headers['access-control-allow-origin']
  const answerOrigin = `the server must answer with Access-Control-Allow-Origin: ${request.origin}`
  if (allowOrigin === undefined) {
    return [finding('allow-origin-missing', 'the response has no Access-Control-Allow-Origin header', answerOrigin)]
  }
  if (allowOrigin === '*') {
    if (!request.credentials) return []
    return [finding('allow-origin-wildcard-with-credentials',
      'Access-Control-Allow-Origin is "*", which a browser refuses when the request carries credentials',
      `${answerOrigin} (this origin, not *) and Vary: Origin, or the page must not send credentials`)]
  }
  if (allowOrigin !== request.origin) return [originMismatch(allowOrigin, request.origin, answerOrigin)]
  if (!request.credentials) return []
  const allowCredentials = headers['access-control-allow-credentials']
  // Fetch standard: with credentials, Access-Control-Allow-Credentials must be byte-equal to `true`.
  if (allowCredentials === 'true') return []
  return [finding('allow-credentials-missing',
    `Access-Control-Allow-Credentials is ${shown(allowCredentials)}; with credentials a browser needs exactly "true"`,
    'the server must answer with Access-Control-Allow-Credentials: true')]
}

function originMismatch (allowOrigin: string, origin: string, answerOrigin: string): Finding {
  if (allowOrigin.includes(',')) {
    return finding('allow-origin-multiple',
      `Access-Control-Allow-Origin is "${allowOrigin}": several values, and a browser accepts exactly one`,
      `${answerOrigin}, sent once`)
  }
  const hint = allowOrigin.toLowerCase() === origin.toLowerCase()
    ? ' (it differs only in letter case, and the comparison is byte for byte)'
    : allowOrigin.startsWith(`${origin}/`) ? ' (an origin has no path or trailing slash)' : ''
  return finding('allow-origin-mismatch',
    `Access-Control-Allow-Origin is "${allowOrigin}", not this page's origin ${origin}${hint}`, answerOrigin)
}

function methodProblems (headers: HeaderMap, request: BrowserRequest): Finding[] {
  const raw = headers['access-control-allow-methods']
  const listed = parseTokenList(raw)
  if (listed === undefined) {
    return [finding('allow-methods-invalid', `Access-Control-Allow-Methods ${shown(raw)} is not a comma-separated list of methods`,
      `the server must answer with Access-Control-Allow-Methods: ${request.method}`)]
  }
  // Fetch standard: safelisted methods always pass; others must be listed, compared byte for byte.
  if (isSafelistedMethod(request.method) || listed.includes(request.method)) return []
  const wildcard = listed.includes('*')
  // Fetch standard: `*` is a wildcard only when the request carries no credentials.
  if (wildcard && !request.credentials) return []
  const fix = `the server must answer with Access-Control-Allow-Methods: ${[...listed.filter((method) => method !== '*'), request.method].join(', ')}`
  if (wildcard) {
    return [finding('method-wildcard-with-credentials',
      `Access-Control-Allow-Methods is ${shown(raw)}; with credentials "*" is a method name, not a wildcard`, fix)]
  }
  const otherCase = listed.find((method) => method.toUpperCase() === request.method.toUpperCase())
  const hint = otherCase === undefined
    ? ''
    : ` (it lists ${otherCase}; methods are compared byte for byte and fetch() does not upper-case ${request.method})`
  return [finding('method-not-allowed',
    `the method ${request.method} is not in Access-Control-Allow-Methods (${shown(raw)})${hint}`, fix)]
}

function headerProblems (headers: HeaderMap, request: BrowserRequest, plan: RequestPlan): Finding[] {
  const raw = headers['access-control-allow-headers']
  const listed = parseTokenList(raw)
  if (listed === undefined) {
    return [finding('allow-headers-invalid', `Access-Control-Allow-Headers ${shown(raw)} is not a comma-separated list of header names`,
      `the server must answer with Access-Control-Allow-Headers: ${plan.unsafeHeaderNames.join(', ')}`)]
  }
  // Fetch standard: header names are compared case-insensitively.
  const allowed = new Set(listed.map((name) => name.toLowerCase()))
  const missing = plan.unsafeHeaderNames.filter((name) => !allowed.has(name))
  if (missing.length === 0) return []
  const fix = `the server must answer with Access-Control-Allow-Headers: ${[...listed.filter((name) => name !== '*'), ...missing].join(', ')}`
  if (!allowed.has('*')) {
    return [finding('header-not-allowed', `Access-Control-Allow-Headers (${shown(raw)}) does not list ${missing.join(', ')}`, fix)]
  }
  if (request.credentials) {
    return [finding('header-wildcard-with-credentials',
      `Access-Control-Allow-Headers is ${shown(raw)}; with credentials "*" is a header name, not a wildcard`, fix)]
  }
  // Fetch standard: Authorization is a "CORS non-wildcard request-header name"; `*` never covers it.
  if (!missing.includes('authorization')) return []
  return [finding('authorization-not-covered-by-wildcard',
    'Access-Control-Allow-Headers is "*", which does not cover Authorization by the Fetch standard (Chromium does not enforce this yet by default)',
    `the server must list it by name: Access-Control-Allow-Headers: ${[...listed, 'authorization'].join(', ')}`)]
}

function preflightCache (maxAge: string | undefined): { seconds: number, note: string } {
  if (maxAge === undefined || !/^\d+$/.test(maxAge)) {
    return {
      seconds: DEFAULT_CACHE_SECONDS,
      note: `Access-Control-Max-Age is ${shown(maxAge)}, so Chromium repeats this preflight after ${DEFAULT_CACHE_SECONDS} s; Access-Control-Max-Age: 600 would save round trips`
    }
  }
  const seconds = Number(maxAge)
  if (seconds === 0) return { seconds, note: 'Access-Control-Max-Age is 0: every call is preceded by a preflight' }
  if (seconds > CHROMIUM_MAX_CACHE_SECONDS) {
    return {
      seconds: CHROMIUM_MAX_CACHE_SECONDS,
      note: `Access-Control-Max-Age is ${seconds}, but Chromium caches a preflight for at most ${CHROMIUM_MAX_CACHE_SECONDS} s and Firefox for at most 86400 s`
    }
  }
  return { seconds, note: `a browser may reuse this preflight for ${seconds} s` }
}

function varyWarnings (headers: HeaderMap): Finding[] {
  const allowOrigin = headers['access-control-allow-origin']
  if (allowOrigin === undefined || allowOrigin === '*') return []
  const vary = (headers.vary ?? '').toLowerCase().split(',').map((name) => name.trim())
  if (vary.includes('origin') || vary.includes('*')) return []
  return [finding('vary-missing-origin',
    `Access-Control-Allow-Origin names one origin but Vary (${shown(headers.vary)}) does not list Origin; unless the server allows only that origin, a shared cache can hand this answer to pages on other origins`,
    'the server must add Origin to Vary (Vary: Origin), keeping the values already there')]
}

function redirectWarnings ({ status, headers }: ProbeResponse): Finding[] {
  if (status < 300 || status > 399) return []
  return [finding('actual-redirected',
    `the server redirected (${status}, Location: ${headers.location ?? 'absent'}); a browser follows it and repeats the CORS check on the next response, which the doctor does not do`,
    'run the doctor again on the Location URL, or call it directly')]
}

function readableResponseHeaders (headers: HeaderMap, credentials: boolean): { names: string[], warnings: Finding[] } {
  const raw = headers['access-control-expose-headers']
  const listed = parseTokenList(raw)
  const warnings: Finding[] = []
  if (listed === undefined) {
    warnings.push(finding('expose-headers-invalid', `Access-Control-Expose-Headers ${shown(raw)} does not parse, so a browser exposes nothing from it`,
      'the server must send header names separated by commas'))
  }
  const exposed = new Set((listed ?? []).map((name) => name.toLowerCase()))
  if (credentials && exposed.has('*')) {
    warnings.push(finding('expose-wildcard-with-credentials',
      'Access-Control-Expose-Headers contains "*", which is a header name, not a wildcard, when the request carries credentials',
      'the server must list the exposed headers by name'))
  }
  // Fetch standard: `*` exposes every header only for requests without credentials.
  const everything = !credentials && exposed.has('*')
  const names = Object.keys(headers)
    .filter((name) => !isForbiddenResponseHeader(name) &&
      (everything || isSafelistedResponseHeader(name) || exposed.has(name)))
    .sort()
  return { names, warnings }
}
