/**
 * Origins as browsers serialize them (Fetch standard: "serialization of an origin"):
 * `scheme://host[:port]`, lowercase, no default port, no path, no trailing slash.
 */

/**
 * The longest origin a browser can send: a scheme, "://", a 253-character DNS name and ":65535",
 * with room for long extension schemes. Anything longer is not an origin.
 */
export const MAX_ORIGIN_LENGTH = 512

// Visible ASCII without spaces or commas: Node joins repeated `Origin` lines with ", ", and no
// serialized origin contains either, so such a value is refused before any matcher sees it.
const ORIGIN_CHARACTERS = /^[\x21-\x2b\x2d-\x7e]+$/

/** Cheap per-request sanity check; every matcher except `*` runs behind it. */
export function isPlausibleOrigin (origin: string): boolean {
  return origin.length <= MAX_ORIGIN_LENGTH && ORIGIN_CHARACTERS.test(origin)
}

export type OriginParse =
  | { kind: 'canonical' }
  | { kind: 'non-canonical', canonical: string }
  | { kind: 'invalid', reason: string }

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' }

/** Checks an origin written in the configuration against its serialized form. */
export function parseConfiguredOrigin (value: string): OriginParse {
  if (value.includes(',')) {
    return { kind: 'invalid', reason: 'one string holds several origins; list them as an array instead' }
  }
  if (!SCHEME.test(value)) {
    return { kind: 'invalid', reason: `an origin starts with its scheme; did you mean "https://${value.replace(/^\/+/, '')}"?` }
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return { kind: 'invalid', reason: 'it is not a valid URL origin (scheme://host[:port])' }
  }
  if (url.username !== '' || url.password !== '') {
    return { kind: 'invalid', reason: 'an origin has no user name or password' }
  }
  if (url.host === '') {
    return { kind: 'invalid', reason: 'an origin needs a host' }
  }
  if (url.search !== '' || url.hash !== '' || (url.pathname !== '/' && url.pathname !== '')) {
    return { kind: 'invalid', reason: `an origin has no path, query or fragment; write "${serialize(url)}"` }
  }
  const canonical = serialize(url)
  return canonical === value ? { kind: 'canonical' } : { kind: 'non-canonical', canonical }
}

function serialize (url: URL): string {
  // URL drops default ports only for special schemes; do it by hand so `ws:`/`wss:` behave too.
  const port = url.port !== '' && url.port !== DEFAULT_PORTS[url.protocol] ? `:${url.port}` : ''
  return `${url.protocol}//${url.hostname}${port}`
}

/**
 * A safe wildcard pattern: `scheme://*.domain[:port]` (one or more labels in front of the domain,
 * never the domain itself) and/or `scheme://host:*` (any port, or none).
 */
export interface OriginPattern {
  /** e.g. `https://` */
  schemePrefix: string
  /** Host that must match exactly, or (with `anySubdomain`) the suffix after `*.`. */
  host: string
  anySubdomain: boolean
  /** `undefined` = no port; `'*'` = any port or none; otherwise the exact port. */
  port: string | undefined
}

export type PatternParse = { kind: 'pattern', pattern: OriginPattern } | { kind: 'invalid', reason: string }

const PATTERN = /^([a-z][a-z0-9+.-]*:\/\/)(\*\.)?([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\*|[0-9]{1,5}))?$/
const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/

export function isPatternSyntax (value: string): boolean {
  return value !== '*' && value.includes('*')
}

export function parseOriginPattern (value: string): PatternParse {
  const match = PATTERN.exec(value)
  if (match === null) {
    return {
      kind: 'invalid',
      reason: "a wildcard may only stand for leading labels ('https://*.example.com') or the port " +
        "('http://localhost:*'), in a lowercase origin with its scheme"
    }
  }
  const [, schemePrefix = '', star, host = '', port] = match
  // PATTERN only matches a '*' in those two places, so a value without '*.' has port '*'.
  const anySubdomain = star !== undefined
  if (anySubdomain && (!host.includes('.') || host.split('.').some(label => !HOST_LABEL.test(label)))) {
    return {
      kind: 'invalid',
      reason: "'*.' must be followed by a registrable domain of two labels or more, such as 'example.com'"
    }
  }
  return { kind: 'pattern', pattern: { schemePrefix, host, anySubdomain, port } }
}

/** Does a (plausible) request origin match a pattern? One pass over the origin, no allocation. */
export function matchesPattern (pattern: OriginPattern, origin: string): boolean {
  if (!origin.startsWith(pattern.schemePrefix)) return false
  const hostStart = pattern.schemePrefix.length
  let hostEnd = origin.length
  const colon = origin.lastIndexOf(':')
  // An IPv6 host ends with ']'; a colon before it belongs to the address, not to a port.
  if (colon >= hostStart && origin.indexOf(']', colon) === -1) {
    if (pattern.port === undefined || !isPort(origin, colon + 1)) return false
    if (pattern.port !== '*' && !(origin.length - colon - 1 === pattern.port.length && origin.startsWith(pattern.port, colon + 1))) return false
    hostEnd = colon
  } else if (pattern.port !== undefined && pattern.port !== '*') {
    return false
  }
  if (!pattern.anySubdomain) return hostEnd - hostStart === pattern.host.length && origin.startsWith(pattern.host, hostStart)
  const dot = hostEnd - pattern.host.length - 1
  if (dot <= hostStart || origin.charCodeAt(dot) !== 46 || !origin.startsWith(pattern.host, dot + 1)) return false
  return areHostLabels(origin, hostStart, dot)
}

/** Are `text[start, end)` one or more dot-separated host labels? */
function areHostLabels (text: string, start: number, end: number): boolean {
  let labelStart = start
  for (let i = start; i <= end; i++) {
    const code = i === end ? 46 : text.charCodeAt(i)
    if (code === 46) {
      // A label is non-empty and neither starts nor ends with '-'.
      if (i === labelStart || text.charCodeAt(labelStart) === 45 || text.charCodeAt(i - 1) === 45) return false
      labelStart = i + 1
    } else if (!isLabelCharacter(code)) {
      return false
    }
  }
  return true
}

function isLabelCharacter (code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 45 || code === 95
}

/** Is `text` from `start` to its end a port number (no leading zero, at most 65535)? */
function isPort (text: string, start: number): boolean {
  const length = text.length - start
  if (length === 0 || length > 5 || (length > 1 && text.charCodeAt(start) === 48)) return false
  let value = 0
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 48 || code > 57) return false
    value = value * 10 + code - 48
  }
  return value <= 65535
}
