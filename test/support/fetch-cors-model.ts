/**
 * A reference model for the property tests, written from the Fetch standard and from the plugin's
 * documented option semantics, sharing no code with lib/. Each rule is one plain line, so that a
 * disagreement between the model and the plugin points at the plugin.
 */

/** A cross-origin request as a page makes it with fetch(). */
export interface PageRequest {
  readonly origin: string
  /** credentials mode "include" (cookies, HTTP auth). */
  readonly credentials: boolean
  /** The method as fetch() sends it: DELETE, GET, HEAD, OPTIONS, POST, PUT upper-cased, others as written. */
  readonly method: string
  /** Lowercase names of the request's headers; all of them non-safelisted (x-*, authorization). */
  readonly headers: readonly string[]
}

export interface ServerAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
}

const SAFELISTED_METHODS = ['GET', 'HEAD', 'POST']

/** Fetch standard: a preflight is needed for a non-safelisted method or a non-safelisted header. */
export function needsPreflight (request: PageRequest): boolean {
  return !SAFELISTED_METHODS.includes(request.method) || request.headers.length > 0
}

/** Fetch standard, "CORS check". */
export function corsCheck (request: PageRequest, answer: ServerAnswer): boolean {
  const allowOrigin = answer.headers['access-control-allow-origin']
  if (allowOrigin === undefined) return false
  if (!request.credentials && allowOrigin === '*') return true
  if (allowOrigin !== request.origin) return false
  if (!request.credentials) return true
  return answer.headers['access-control-allow-credentials'] === 'true'
}

/**
 * Fetch standard, "CORS-preflight fetch": what the browser checks in the preflight's answer.
 * `lax`: as Chromium 156 does by default, let '*' in Allow-Headers cover Authorization too; a
 * server must not count on browsers to enforce that exception.
 */
export function preflightPasses (request: PageRequest, answer: ServerAnswer, lax = false): boolean {
  if (answer.status < 200 || answer.status > 299) return false
  if (!corsCheck(request, answer)) return false
  const methods = headerList(answer.headers['access-control-allow-methods'])
  const names = headerList(answer.headers['access-control-allow-headers'])
  const wildcard = (list: readonly string[]): boolean => !request.credentials && list.includes('*')
  if (!methods.includes(request.method) && !SAFELISTED_METHODS.includes(request.method) && !wildcard(methods)) return false
  for (const name of request.headers) {
    if (names.some(allowed => allowed.toLowerCase() === name)) continue
    // Authorization is a "CORS non-wildcard request-header name": only listing it by name covers it.
    if ((name === 'authorization' && !lax) || !wildcard(names)) return false
  }
  return true
}

function headerList (value: string | undefined): string[] {
  return (value ?? '').split(',').map(item => item.trim()).filter(item => item !== '')
}

/**
 * The options the property tests generate. `origin`: '*', one origin (answered as is), one pattern,
 * or an array of origins and patterns. `allowedHeaders` undefined: the page's request is reflected.
 */
export interface ModelConfig {
  readonly origin: string | readonly string[]
  readonly credentials: boolean
  readonly methods: readonly string[]
  readonly allowedHeaders: readonly string[] | undefined
}

/** Does the answer depend on the request's Origin? Then every answer must carry `Vary: Origin`. */
export function answerDependsOnOrigin (config: ModelConfig): boolean {
  return typeof config.origin !== 'string' || (config.origin.includes('*') && config.origin !== '*')
}

/** Should the server let a page on this origin read its answers (before methods and headers)? */
export function configAllowsOrigin (config: ModelConfig, origin: string): boolean {
  if (config.origin === '*') return true
  if (!answerDependsOnOrigin(config)) return origin === config.origin
  const entries = typeof config.origin === 'string' ? [config.origin] : config.origin
  // The plugin's documented input rule: no origin is longer than 512 characters, and none holds a
  // comma, a space, a control or a non-ASCII character.
  if (origin.length > 512 || !/^[\x21-\x2b\x2d-\x7e]+$/.test(origin)) return false
  return entries.some(entry => entryMatches(entry, origin))
}

/**
 * An exact origin matches itself. `scheme://*.domain[:port]` matches one or more DNS labels (letters,
 * digits, '_', '-' inside) before the domain; `scheme://host:*` matches any valid port, or none.
 */
function entryMatches (entry: string, origin: string): boolean {
  if (!entry.includes('*')) return origin === entry
  const [, scheme = '', star, host = '', port] = /^([a-z]+:\/\/)(\*\.)?([^:]+)(?::(\*|\d+))?$/.exec(entry) ?? []
  const label = '[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?'
  const source = '^' + escape(scheme) + (star === undefined ? '' : `(?:${label}\\.)+`) + escape(host) +
    (port === undefined ? '' : port === '*' ? '(?::(0|[1-9][0-9]{0,4}))?' : escape(`:${port}`)) + '$'
  const match = new RegExp(source).exec(origin)
  return match !== null && Number(match[1] ?? 0) <= 65535
}

function escape (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/** Should a page's request succeed, from the configuration alone? */
export function expectedVerdict (config: ModelConfig, request: PageRequest): boolean {
  if (!configAllowsOrigin(config, request.origin)) return false
  // With credentials the browser needs the exact origin and Allow-Credentials: true.
  if (request.credentials && (!config.credentials || config.origin === '*')) return false
  if (!needsPreflight(request)) return true
  const methodAllowed = SAFELISTED_METHODS.includes(request.method) || config.methods.includes(request.method) ||
    (config.methods.includes('*') && !request.credentials)
  if (!methodAllowed) return false
  const allowedHeaders = config.allowedHeaders
  if (allowedHeaders === undefined) return true
  const listed = allowedHeaders.map(name => name.toLowerCase())
  return request.headers.every(name => listed.includes(name) ||
    (listed.includes('*') && name !== 'authorization' && !request.credentials))
}
