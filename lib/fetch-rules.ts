import { isToken } from './header-list'

export { isToken }

// The Fetch standard's vocabulary: which methods and headers are safelisted, forbidden, or
// normalized. Pure predicates, shared by explain(), the preflight rules and the CORS doctor.

// Fetch standard: "CORS-safelisted method".
const SAFELISTED_METHODS = new Set(['GET', 'HEAD', 'POST'])

// Fetch standard: "normalize" a method. Only these six are upper-cased, so `patch` stays as typed.
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])

// Fetch standard: "forbidden method"; fetch() throws for these.
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])

// Fetch standard: "forbidden request-header"; a script cannot set these, the browser does.
const FORBIDDEN_REQUEST_HEADERS = new Set([
  'accept-charset', 'accept-encoding', 'access-control-request-headers',
  'access-control-request-method', 'connection', 'content-length', 'cookie', 'cookie2', 'date',
  'dnt', 'expect', 'host', 'keep-alive', 'origin', 'referer', 'set-cookie', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'via'
])
const FORBIDDEN_REQUEST_HEADER_PREFIXES = ['proxy-', 'sec-']

// Fetch standard: the MIME type essences that keep Content-Type CORS-safelisted.
const SAFELISTED_CONTENT_TYPES = new Set([
  'application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'
])

// Fetch standard: "CORS-unsafe request-header byte" (besides the control characters other than tab).
const UNSAFE_VALUE_CHARACTERS = '"():<>?@[\\]{}'

// Fetch standard: a safelisted request-header value is at most 128 bytes, and all safelisted values
// of one request together at most 1024 bytes.
const MAX_SAFELISTED_VALUE_BYTES = 128
const MAX_SAFELISTED_TOTAL_BYTES = 1024

// Fetch standard: "CORS-safelisted response-header name", readable by scripts without being exposed.
const SAFELISTED_RESPONSE_HEADERS = new Set([
  'cache-control', 'content-language', 'content-length', 'content-type', 'expires',
  'last-modified', 'pragma'
])

// Fetch standard: "forbidden response-header name"; never readable by scripts, even when exposed.
const FORBIDDEN_RESPONSE_HEADERS = new Set(['set-cookie', 'set-cookie2'])

const HTTP_WHITESPACE_AT_ENDS = /^[\t\n\r ]+|[\t\n\r ]+$/g

export interface RequestHeader {
  /** Lower case, as fetch() stores it. */
  readonly name: string
  readonly value: string
}

export function isSafelistedMethod (method: string): boolean {
  return SAFELISTED_METHODS.has(method)
}

export function normalizeMethod (method: string): string {
  const upper = method.toUpperCase()
  return NORMALIZED_METHODS.has(upper) ? upper : method
}

export function isForbiddenMethod (method: string): boolean {
  return FORBIDDEN_METHODS.has(method.toUpperCase())
}

export function isForbiddenRequestHeader (name: string): boolean {
  const lower = name.toLowerCase()
  return FORBIDDEN_REQUEST_HEADERS.has(lower) ||
    FORBIDDEN_REQUEST_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix))
}

export function isSafelistedResponseHeader (name: string): boolean {
  return SAFELISTED_RESPONSE_HEADERS.has(name)
}

export function isForbiddenResponseHeader (name: string): boolean {
  return FORBIDDEN_RESPONSE_HEADERS.has(name)
}

export function trimHttpWhitespace (text: string): string {
  return text.replace(HTTP_WHITESPACE_AT_ENDS, '')
}

/** Fetch standard: "CORS-safelisted request-header", for one header taken alone. */
export function isSafelistedRequestHeader (name: string, value: string): boolean {
  if (Buffer.byteLength(value) > MAX_SAFELISTED_VALUE_BYTES) return false
  switch (name.toLowerCase()) {
    case 'accept':
      return !hasUnsafeValueCharacter(value)
    case 'accept-language':
    case 'content-language':
      return /^[0-9A-Za-z *,\-.;=]*$/.test(value)
    case 'content-type':
      return !hasUnsafeValueCharacter(value) && SAFELISTED_CONTENT_TYPES.has(mimeEssence(value))
    default:
      return false
  }
}

/**
 * Fetch standard: "CORS-unsafe request-header names": lower case, unique, sorted; exactly what a
 * preflight lists in Access-Control-Request-Headers.
 */
export function unsafeRequestHeaderNames (headers: readonly RequestHeader[]): string[] {
  const safelisted = headers.filter((header) => isSafelistedRequestHeader(header.name, header.value))
  const safelistedBytes = safelisted.reduce((total, header) => total + Buffer.byteLength(header.value), 0)
  const unsafe = safelistedBytes > MAX_SAFELISTED_TOTAL_BYTES
    ? headers
    : headers.filter((header) => !safelisted.includes(header))
  return [...new Set(unsafe.map((header) => header.name.toLowerCase()))].sort()
}

/**
 * Fetch standard: "extract header list values" for a `#token` header such as
 * Access-Control-Allow-Methods. An absent header is an empty list; `undefined` means it does not
 * parse, which a browser treats as a network error.
 */
export function parseTokenList (value: string | undefined): string[] | undefined {
  if (value === undefined) return []
  const items = value.split(',').map(trimHttpWhitespace).filter((item) => item !== '')
  return items.every(isToken) ? items : undefined
}

function hasUnsafeValueCharacter (value: string): boolean {
  return [...value].some((character) => {
    const code = character.charCodeAt(0)
    return (code < 0x20 && code !== 0x09) || code === 0x7f || UNSAFE_VALUE_CHARACTERS.includes(character)
  })
}

function mimeEssence (value: string): string {
  return trimHttpWhitespace(value.replace(/;[^]*$/, '')).toLowerCase()
}
