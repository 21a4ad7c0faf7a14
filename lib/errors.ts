/**
 * Every configuration problem fastify-cors-guard can report, with a stable code.
 *
 * Severity decides what happens at registration:
 * - `error`: always fatal (wrong type, unknown key).
 * - `unsafe`: the configuration cannot work in a browser or opens a hole; fatal unless the user
 *   passed `strict: false`, which turns it into a logged warning.
 * - `warning`: logged, never fatal.
 */
export type ProblemSeverity = 'error' | 'unsafe' | 'warning'

export const problemCodes = {
  INVALID_TYPE: 'CORS_GUARD_INVALID_TYPE',
  UNKNOWN_OPTION: 'CORS_GUARD_UNKNOWN_OPTION',
  WILDCARD_WITH_CREDENTIALS: 'CORS_GUARD_WILDCARD_WITH_CREDENTIALS',
  REFLECT_ALL_WITH_CREDENTIALS: 'CORS_GUARD_REFLECT_ALL_WITH_CREDENTIALS',
  INVALID_ORIGIN: 'CORS_GUARD_INVALID_ORIGIN',
  NON_CANONICAL_ORIGIN: 'CORS_GUARD_NON_CANONICAL_ORIGIN',
  NULL_ORIGIN: 'CORS_GUARD_NULL_ORIGIN',
  INVALID_ORIGIN_PATTERN: 'CORS_GUARD_INVALID_ORIGIN_PATTERN',
  STATEFUL_REGEXP: 'CORS_GUARD_STATEFUL_REGEXP',
  UNANCHORED_REGEXP: 'CORS_GUARD_UNANCHORED_REGEXP',
  INVALID_METHOD: 'CORS_GUARD_INVALID_METHOD',
  FORBIDDEN_METHOD: 'CORS_GUARD_FORBIDDEN_METHOD',
  INVALID_HEADER_NAME: 'CORS_GUARD_INVALID_HEADER_NAME',
  INVALID_HEADER_VALUE: 'CORS_GUARD_INVALID_HEADER_VALUE',
  FIXED_OPTION: 'CORS_GUARD_FIXED_OPTION',
  INVALID_ENVIRONMENT: 'CORS_GUARD_INVALID_ENVIRONMENT'
} as const

export type ProblemCode = typeof problemCodes[keyof typeof problemCodes]

export interface ConfigProblem {
  code: ProblemCode
  severity: ProblemSeverity
  /** Where the problem is, e.g. `origin[2]` or `route GET /users config.cors.methods`. */
  path: string
  /** The offending value, as the user wrote it (printable form). */
  value: string
  /** What is wrong and what to write instead, in one or two sentences. */
  message: string
}

export const CONFIG_ERROR_CODE = 'CORS_GUARD_INVALID_CONFIG'

/** Thrown from `register` (or when a route is added) with every fatal problem found at once. */
export class CorsConfigError extends Error {
  readonly code = CONFIG_ERROR_CODE
  readonly problems: readonly ConfigProblem[]

  constructor (problems: readonly ConfigProblem[], where = 'the CORS options') {
    const noun = problems.length === 1 ? 'problem' : 'problems'
    super(`fastify-cors-guard: ${problems.length} ${noun} in ${where}:\n` +
      problems.map(p => `  - ${formatProblem(p)}`).join('\n'))
    this.name = 'CorsConfigError'
    this.problems = problems
  }
}

export function formatProblem (problem: ConfigProblem): string {
  return `[${problem.code}] ${problem.path} = ${problem.value}: ${problem.message}`
}

/** A short, printable rendering of any option value, for messages. */
export function printable (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 120 ? value.slice(0, 117) + '...' : value)
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`
  if (value instanceof RegExp) return String(value)
  if (Array.isArray(value)) return `[array of ${value.length}]`
  if (value === null || typeof value !== 'object') return String(value)
  return '[object]'
}
