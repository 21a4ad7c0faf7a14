import { Value } from '@sinclair/typebox/value'
import type { TObject } from '@sinclair/typebox'
import { printable, problemCodes, type ConfigProblem, type ProblemCode, type ProblemSeverity } from './errors'
import { isToken, splitConfiguredList } from './header-list'
import { isPatternSyntax, parseConfiguredOrigin, parseOriginPattern } from './origin-syntax'
import { fastifyRegisterKeys, propertySchema } from './schema'
import { isAnchored } from './regexp-anchoring'

/** A problem plus the option keys it comes from, so merged route configs blame the right layer. */
export interface KeyedProblem extends ConfigProblem {
  keys: readonly string[]
}

// Names other CORS libraries use, mapped to ours.
const aliases: Record<string, string> = {
  allowedorigins: 'origin',
  alloworigin: 'origin',
  alloworigins: 'origin',
  origins: 'origin',
  allowcredentials: 'credentials',
  allowmethods: 'methods',
  allowedmethods: 'methods',
  allowheaders: 'allowedHeaders',
  exposeheaders: 'exposedHeaders',
  exposedheader: 'exposedHeaders',
  maxage: 'maxAge'
}

/** The problem as users see it: which option keys caused it is internal. */
export function withoutKeys ({ keys: _keys, ...problem }: KeyedProblem): ConfigProblem {
  return problem
}

/** Wrong types, out-of-range values and unknown keys: always fatal, reported per key. */
export function checkShape (options: Record<string, unknown>, schema: TObject, where: string): KeyedProblem[] {
  const problems: KeyedProblem[] = []
  for (const key of Object.keys(options)) {
    const value = options[key]
    const propSchema = propertySchema(schema, key)
    if (propSchema === undefined) {
      if (fastifyRegisterKeys.has(key)) continue
      const suggestion = suggestKey(key, Object.keys(schema.properties))
      problems.push(problem(problemCodes.UNKNOWN_OPTION, 'error', where + key, value, [key],
        'unknown option' + (suggestion === undefined ? '.' : `; did you mean "${suggestion}"?`)))
    } else if (value !== undefined && !Value.Check(propSchema, value)) {
      problems.push(problem(problemCodes.INVALID_TYPE, 'error', where + key, value, [key],
        `expected ${String(propSchema.description)}.`))
    }
  }
  return problems
}

function suggestKey (key: string, known: readonly string[]): string | undefined {
  const alias = aliases[key.toLowerCase().replace(/[-_]/g, '')]
  if (alias !== undefined) return alias
  let best: string | undefined
  let bestDistance = 4
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

function editDistance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution))
    }
    previous = current
  }
  return previous[b.length] as number
}

/** Options that are well typed but cannot work in a browser, or are unsafe. */
export function checkMeaning (options: Record<string, unknown>, where: string): KeyedProblem[] {
  const problems: KeyedProblem[] = []
  const credentials = options.credentials === true
  const origin = options.origin
  if (origin === true && credentials) {
    problems.push(problem(problemCodes.REFLECT_ALL_WITH_CREDENTIALS, 'unsafe', where + 'origin', origin, ['origin', 'credentials'],
      'reflecting every origin with credentials: true lets any website read your users\' data; list the allowed origins instead.'))
  }
  const entries = Array.isArray(origin) ? origin : [origin]
  entries.forEach((entry, index) => {
    const path = where + 'origin' + (Array.isArray(origin) ? `[${index}]` : '')
    if (typeof entry === 'string') checkOriginString(entry, path, credentials, problems)
    else if (entry instanceof RegExp) checkRegExp(entry, path, problems)
  })

  checkTokenList(options, 'methods', where, credentials, problems)
  checkTokenList(options, 'allowedHeaders', where, credentials, problems)
  checkTokenList(options, 'exposedHeaders', where, credentials, problems)

  const cacheControl = options.cacheControl
  if (typeof cacheControl === 'string' && hasControlCharacter(cacheControl)) {
    problems.push(problem(problemCodes.INVALID_HEADER_VALUE, 'error', where + 'cacheControl', cacheControl, ['cacheControl'],
      'a header value cannot hold control characters or line breaks.'))
  }
  return problems
}

function checkOriginString (value: string, path: string, credentials: boolean, problems: KeyedProblem[]): void {
  if (value === '*') {
    if (credentials) problems.push(wildcardWithCredentials(path, 'origin'))
    return
  }
  if (value === 'null') {
    problems.push(problem(problemCodes.NULL_ORIGIN, 'unsafe', path, value, ['origin'],
      "'null' is the origin of sandboxed iframes, file: pages and some redirects: allowing it lets any site that can " +
      'make an opaque request in; serve the caller from a real origin instead (or pass strict: false to accept the risk).'))
    return
  }
  if (isPatternSyntax(value)) {
    const parsed = parseOriginPattern(value)
    if (parsed.kind === 'invalid') {
      problems.push(problem(problemCodes.INVALID_ORIGIN_PATTERN, 'unsafe', path, value, ['origin'], parsed.reason + '.'))
    }
    return
  }
  const parsed = parseConfiguredOrigin(value)
  if (parsed.kind === 'invalid') {
    problems.push(problem(problemCodes.INVALID_ORIGIN, 'unsafe', path, value, ['origin'],
      `browsers never send this origin: ${parsed.reason}.`))
  } else if (parsed.kind === 'non-canonical') {
    problems.push(problem(problemCodes.NON_CANONICAL_ORIGIN, 'unsafe', path, value, ['origin'],
      `browsers send origins in canonical form and matching is exact; write "${parsed.canonical}".`))
  }
}

function checkRegExp (value: RegExp, path: string, problems: KeyedProblem[]): void {
  if (value.global || value.sticky) {
    problems.push(problem(problemCodes.STATEFUL_REGEXP, 'unsafe', path, value, ['origin'],
      `the g and y flags make test() remember lastIndex between requests; write /${value.source}/${value.flags.replace(/[gy]/g, '')}.`))
  }
  if (!isAnchored(value.source)) {
    problems.push(problem(problemCodes.UNANCHORED_REGEXP, 'warning', path, value, ['origin'],
      "an origin RegExp without ^ at the start and $ at the end (around any '|') also matches origins that merely " +
      "contain an allowed one, such as https://example.com.evil.net; anchor it, or use a pattern like 'https://*.example.com'."))
  }
}

const forbiddenMethods = new Set(['CONNECT', 'TRACE', 'TRACK'])

function checkTokenList (options: Record<string, unknown>, key: string, where: string, credentials: boolean, problems: KeyedProblem[]): void {
  const value = options[key]
  if (typeof value !== 'string' && !Array.isArray(value)) return
  const kind = key === 'methods' ? 'method' : 'header'
  const path = where + key
  for (const entry of splitConfiguredList(value)) {
    if (entry === '*') {
      if (credentials) problems.push(wildcardWithCredentials(path, key))
    } else if (!isToken(entry)) {
      problems.push(problem(kind === 'method' ? problemCodes.INVALID_METHOD : problemCodes.INVALID_HEADER_NAME, 'unsafe', path, entry, [key],
        `${JSON.stringify(entry)} is not a valid ${kind === 'method' ? 'method' : 'header name'} (letters, digits and !#$%&'*+-.^_\`|~ only); it is dropped.`))
    } else if (kind === 'method' && forbiddenMethods.has(entry.toUpperCase())) {
      problems.push(problem(problemCodes.FORBIDDEN_METHOD, 'unsafe', path, entry, [key],
        `browsers refuse to send ${entry.toUpperCase()} from scripts; remove it.`))
    } else if (kind === 'method' && entry !== entry.toUpperCase()) {
      problems.push(problem(problemCodes.INVALID_METHOD, 'unsafe', path, entry, [key],
        `methods are compared case-sensitively and Node only parses upper-case methods; write ${entry.toUpperCase()}.`))
    }
  }
}

function wildcardWithCredentials (path: string, key: string): KeyedProblem {
  return problem(problemCodes.WILDCARD_WITH_CREDENTIALS, 'unsafe', path, '*', [key, 'credentials'],
    `browsers ignore '*' in ${key} on requests with credentials, so it cannot work with credentials: true; ` +
    'list the allowed values explicitly, or set credentials: false.')
}

function problem (code: ProblemCode, severity: ProblemSeverity, path: string, value: unknown, keys: readonly string[], message: string): KeyedProblem {
  return { code, severity, path, value: printable(value), message, keys }
}

/** Header values may hold tabs but no other control character (RFC 9110 field-value). */
function hasControlCharacter (value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if ((code < 32 && code !== 9) || code === 127) return true
  }
  return false
}
