/** Comma-separated lists of HTTP tokens: method lists, header-name lists. */

// RFC 9110 token: 1*tchar
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

export function isToken (value: string): boolean {
  return TOKEN.test(value)
}

/** Splits a configured list (string or array) into trimmed, non-empty entries. */
export function splitConfiguredList (value: string | readonly string[]): string[] {
  const parts = typeof value === 'string' ? value.split(',') : value
  const entries: string[] = []
  for (const part of parts) {
    const entry = part.trim()
    if (entry !== '') entries.push(entry)
  }
  return entries
}

/**
 * A cap on `Access-Control-Request-Headers`. Browsers send the lowercase names of the page's own
 * headers; a few kilobytes is far beyond any real page and keeps parsing cost bounded.
 */
export const MAX_REQUEST_HEADERS_LENGTH = 4096

/**
 * Parses `Access-Control-Request-Headers` in one pass. Returns the lowercase names, or `undefined`
 * when the value is too long or holds something that is not a header name (never a partial list).
 */
export function parseRequestedHeaders (value: string): string[] | undefined {
  if (value.length > MAX_REQUEST_HEADERS_LENGTH) return undefined
  const names: string[] = []
  let start = 0
  for (let i = 0; i <= value.length; i++) {
    if (i !== value.length && value.charCodeAt(i) !== 44) continue
    let from = start
    let to = i
    while (from < to && isSpace(value.charCodeAt(from))) from++
    while (to > from && isSpace(value.charCodeAt(to - 1))) to--
    start = i + 1
    if (from === to) continue
    const name = value.slice(from, to)
    if (!TOKEN.test(name)) return undefined
    names.push(name.toLowerCase())
  }
  return names
}

function isSpace (code: number): boolean {
  return code === 32 || code === 9
}
