import { CorsConfigError, printable, problemCodes, type ConfigProblem } from './errors'
import { splitConfiguredList } from './header-list'
import type { CorsOptions } from './schema'
import { checkMeaning, checkShape, withoutKeys } from './validate'
import { CorsOptionsSchema } from './schema'

/** The environment variables `corsOptionsFromEnv` reads, and the option each one sets. */
const variables = {
  CORS_ORIGINS: 'origin',
  CORS_CREDENTIALS: 'credentials',
  CORS_METHODS: 'methods',
  CORS_ALLOWED_HEADERS: 'allowedHeaders',
  CORS_EXPOSED_HEADERS: 'exposedHeaders',
  CORS_MAX_AGE: 'maxAge'
} as const

/**
 * Turns environment variables into validated options, for production configs kept outside the
 * code: `CORS_ORIGINS="https://app.example.com, https://*.example.org"` (required), and optionally
 * CORS_CREDENTIALS (true/false), CORS_METHODS, CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS
 * (comma-separated) and CORS_MAX_AGE (seconds). Problems are reported as `register` reports
 * them, naming the variable; `defaults` fill in what the environment leaves out.
 */
export function corsOptionsFromEnv (env: Record<string, string | undefined> = process.env, defaults: CorsOptions = {}): CorsOptions {
  const options: Record<string, unknown> = { ...defaults }
  const problems: ConfigProblem[] = []
  const read = (name: keyof typeof variables): string | undefined => {
    const value = env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }
  const origins = read('CORS_ORIGINS')
  if (origins === undefined && defaults.origin === undefined) {
    problems.push(environmentProblem('CORS_ORIGINS', env.CORS_ORIGINS,
      'is not set; set it to a comma-separated list of origins, e.g. "https://app.example.com, https://*.example.org"'))
  }
  if (origins !== undefined) options.origin = origins === '*' ? '*' : splitConfiguredList(origins)
  const credentials = read('CORS_CREDENTIALS')
  if (credentials !== undefined) {
    if (credentials === 'true' || credentials === 'false') options.credentials = credentials === 'true'
    else problems.push(environmentProblem('CORS_CREDENTIALS', credentials, 'must be true or false'))
  }
  for (const name of ['CORS_METHODS', 'CORS_ALLOWED_HEADERS', 'CORS_EXPOSED_HEADERS'] as const) {
    const value = read(name)
    if (value !== undefined) options[variables[name]] = splitConfiguredList(value)
  }
  const maxAge = read('CORS_MAX_AGE')
  if (maxAge !== undefined) options.maxAge = /^\d+$/.test(maxAge) ? Number(maxAge) : maxAge

  const byOption = Object.fromEntries(Object.entries(variables).map(([name, option]) => [option, name]))
  const rename = (path: string): string => {
    const option = path.replace(/\[.*$/, '')
    return option in byOption ? path.replace(option, byOption[option] as string) : path
  }
  for (const problem of [...checkShape(options, CorsOptionsSchema, ''), ...checkMeaning(options, '')]) {
    if (problem.severity === 'warning') continue
    problems.push({ ...withoutKeys(problem), path: rename(problem.path) })
  }
  if (problems.length > 0) throw new CorsConfigError(problems, 'the CORS environment variables')
  return options as CorsOptions
}

function environmentProblem (name: string, value: string | undefined, message: string): ConfigProblem {
  return { code: problemCodes.INVALID_ENVIRONMENT, severity: 'error', path: name, value: printable(value), message: `${name} ${message}.` }
}
