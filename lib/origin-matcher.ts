import { Value } from '@sinclair/typebox/value'
import { isPatternSyntax, isPlausibleOrigin, matchesPattern, parseOriginPattern, type OriginPattern } from './origin-syntax'
import { OriginResolver, type ResolverLimits } from './origin-resolver'
import { OriginAnswerSchema, type OriginFunction } from './schema'

/**
 * The compiled form of the `origin` option.
 * - `any`: answer `*`.
 * - `fixed`: always answer this one origin (the browser compares it; no `Vary: Origin` needed).
 * - `match`: reflect the request's origin when `test` accepts it.
 * - `off`: CORS disabled (`origin: false`).
 * - `dynamic`: ask the user's function per request.
 */
export type OriginRule =
  | { readonly type: 'any' }
  | { readonly type: 'fixed', readonly value: string }
  | {
    readonly type: 'match'
    /** Listed origins a request may match before any check: each is a plausible origin itself. */
    readonly listed: Membership
    /** For origins that passed `isPlausibleOrigin`. */
    readonly test: (origin: string) => boolean
  }
  | { readonly type: 'off' }
  | { readonly type: 'dynamic', readonly resolver: OriginResolver }

const ANY: OriginRule = Object.freeze({ type: 'any' })
const OFF: OriginRule = Object.freeze({ type: 'off' })

type StaticOrigin = string | boolean | RegExp | ReadonlyArray<string | RegExp>

const NO_LIMITS: ResolverLimits = Object.freeze({ timeout: 0, cache: undefined })

export function compileOriginRule (origin: StaticOrigin | OriginFunction, limits: ResolverLimits = NO_LIMITS): OriginRule {
  if (typeof origin === 'function') return Object.freeze({ type: 'dynamic', resolver: new OriginResolver(origin, limits) })
  if (origin === false) return OFF
  if (origin === true) return REFLECT_ALL
  if (origin === '*') return ANY
  if (typeof origin === 'string' && !isPatternSyntax(origin)) return Object.freeze({ type: 'fixed', value: origin })
  const entries = Array.isArray(origin) ? origin : [origin as string | RegExp]
  if (entries.includes('*')) return ANY
  const exact = new Set<string>()
  const patterns: OriginPattern[] = []
  const regexps: RegExp[] = []
  for (const entry of entries) {
    if (entry instanceof RegExp) {
      // A copy without g/y: `test` on those advances lastIndex and answers alternate between calls.
      regexps.push(new RegExp(entry.source, entry.flags.replace(/[gy]/g, '')))
    } else if (isPatternSyntax(entry)) {
      const parsed = parseOriginPattern(entry)
      // An invalid pattern only gets here with strict: false; like any unusable origin it matches nothing.
      if (parsed.kind === 'pattern') patterns.push(parsed.pattern)
    } else {
      exact.add(entry)
    }
  }
  return matchRule(exact, patterns, regexps, false)
}

export interface Membership {
  has: (value: string) => boolean
}

/** Up to this many origins, comparing them one by one beats hashing the request's fresh string. */
const FEW_ORIGINS = 8

class FewStrings implements Membership {
  readonly #values: readonly string[]
  constructor (values: readonly string[]) {
    this.#values = values
  }

  has (value: string): boolean {
    for (let i = 0; i < this.#values.length; i++) if (this.#values[i] === value) return true
    return false
  }
}

function matchRule (exact: ReadonlySet<string>, patterns: readonly OriginPattern[], regexps: readonly RegExp[], reflectAll: boolean): OriginRule {
  // An entry that is not a plausible origin (kept under strict: false) can never equal one that is.
  const plausible = [...exact].filter(isPlausibleOrigin)
  const listed = plausible.length <= FEW_ORIGINS ? new FewStrings(plausible) : new Set(plausible)
  // Callers pass only origins that passed isPlausibleOrigin.
  const test = (origin: string): boolean => {
    if (listed.has(origin)) return true
    // Opaque origins are allowed only when listed: never by reflect-all, a pattern or a RegExp.
    if (origin === 'null') return false
    if (reflectAll) return true
    for (const pattern of patterns) if (matchesPattern(pattern, origin)) return true
    for (const regexp of regexps) if (regexp.test(origin)) return true
    return false
  }
  return Object.freeze({ type: 'match', listed, test })
}

// `true`, also as an origin function's answer on every request: built once.
const REFLECT_ALL = matchRule(new Set(), [], [], true)

const compiledAnswers = new WeakMap<object, StaticOriginRule>()

/**
 * Compiles what an origin function answered, or `undefined` for an answer that is not a valid
 * origin option (it then denies). Arrays and RegExps are compiled once per object.
 */
export type StaticOriginRule = Exclude<OriginRule, { type: 'dynamic' }>

export function compileOriginAnswer (answer: unknown): StaticOriginRule | undefined {
  if (typeof answer === 'object' && answer !== null) {
    const cached = compiledAnswers.get(answer)
    if (cached !== undefined) return cached
    if (!Value.Check(OriginAnswerSchema, answer)) return undefined
    const rule = compileOriginRule(answer as StaticOrigin) as StaticOriginRule
    compiledAnswers.set(answer, rule)
    return rule
  }
  if (typeof answer === 'boolean') return compileOriginRule(answer) as StaticOriginRule
  // A string answer becomes a header value: accept only '*' and strings shaped like an origin.
  if (typeof answer === 'string' && (answer === '*' || isPlausibleOrigin(answer))) return compileOriginRule(answer) as StaticOriginRule
  return undefined
}
