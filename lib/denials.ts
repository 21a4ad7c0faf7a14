import type { FastifyRequest, LogLevel } from 'fastify'
import { isThenable } from './ask'
import type { Decision, ReasonCode } from './decision'
import type { Policy } from './policy'
import type { DenialListener } from './schema'
import { describe, findNearMiss } from './reasons'

/** What `onDenied` receives and what a refusal log line holds. */
export interface CorsDenial {
  readonly reason: ReasonCode
  readonly message: string
  readonly hint?: string
  readonly detail?: string
  readonly origin: string | undefined
  readonly method: string
  readonly url: string
  readonly preflight: boolean
}

export interface DenialSettings {
  /** `false`: refusals are not logged (failures of origin functions still are, as errors). */
  readonly level: LogLevel | false
  readonly perMinute: number
  readonly onDenied: DenialListener | undefined
}

const REFUSALS: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  'origin-not-allowed', 'invalid-origin', 'method-not-allowed', 'header-not-allowed',
  'wildcard-with-credentials', 'origin-resolver-failed', 'invalid-delegated-options'
])
const FAILURES: ReadonlySet<ReasonCode> = new Set<ReasonCode>(['origin-resolver-failed', 'invalid-delegated-options'])
const WINDOW_MS = 60_000

export function isRefusal (decision: Decision): boolean {
  return REFUSALS.has(decision.reason)
}

/** Builds the report of a refusal: the reason in words, and a hint for near misses. */
export function denialOf (decision: Decision, policy: Policy, request: FastifyRequest, preflight: boolean): CorsDenial {
  const origin = request.headers.origin
  const nearMiss = decision.reason === 'origin-not-allowed' && origin !== undefined ? findNearMiss(origin, policy.allowedOrigins) : undefined
  return {
    reason: decision.reason,
    message: describe(decision),
    hint: nearMiss?.hint ?? methodCaseHint(decision, policy),
    detail: decision.detail,
    origin,
    method: preflight ? `OPTIONS (preflight for ${String(request.headers['access-control-request-method'])})` : request.method,
    url: request.url,
    preflight
  }
}

function methodCaseHint (decision: Decision, policy: Policy): string | undefined {
  const method = decision.detail
  if (decision.reason !== 'method-not-allowed' || method === undefined || !policy.methods.has(method.toUpperCase())) return undefined
  return `the page sends "${method}"; fetch() does not upper-case it, so write method: '${method.toUpperCase()}' in the page`
}

/**
 * Logs refusals through the request's logger and tells `onDenied`. The log is bounded: at most
 * `perMinute` lines a minute, then one line counting what was left out, so a hostile client
 * cannot flood it. `onDenied` sees every refusal; its errors are logged and go no further.
 */
export class DenialReporter {
  readonly #settings: DenialSettings
  readonly #now: () => number
  #windowStart = -Infinity
  #budget = 0
  #suppressed = 0

  constructor (settings: DenialSettings, now: () => number = Date.now) {
    this.#settings = settings
    this.#now = now
  }

  /** Reports a decision for which `isRefusal` is true. */
  report (request: FastifyRequest, decision: Decision, policy: Policy, preflight: boolean): void {
    const { onDenied } = this.#settings
    const level = FAILURES.has(decision.reason) ? 'error' : this.#settings.level
    // The budget is checked before anything is built, so a flood of refusals costs next to nothing.
    const logged = level !== false && this.#admit(request, level)
    if (!logged && onDenied === undefined) return
    const denial = denialOf(decision, policy, request, preflight)
    if (logged) this.#write(request, level, denial)
    if (onDenied !== undefined) notify(onDenied, request, denial)
  }

  /** Takes one line from this minute's budget; counts the line instead when none is left. */
  #admit (request: FastifyRequest, level: LogLevel): boolean {
    const now = this.#now()
    if (now - this.#windowStart >= WINDOW_MS) {
      if (this.#suppressed > 0) {
        request.log[level]({ cors: { suppressed: this.#suppressed } },
          `fastify-cors-guard: ${this.#suppressed} more CORS refusals were not logged in the last minute`)
      }
      this.#windowStart = now
      this.#budget = this.#settings.perMinute
      this.#suppressed = 0
    }
    if (this.#budget === 0) {
      this.#suppressed++
      return false
    }
    this.#budget--
    return true
  }

  #write (request: FastifyRequest, level: LogLevel, denial: CorsDenial): void {
    const { reason, origin, method, url, hint, detail } = denial
    request.log[level]({ cors: { reason, origin, method, url, hint, detail } },
      `fastify-cors-guard: refused ${origin ?? 'a request'} on ${method} ${url}: ${denial.message}${hint === undefined ? '' : ` (${hint})`}`)
  }
}

function notify (onDenied: DenialListener, request: FastifyRequest, denial: CorsDenial): void {
  const complain = (error: unknown): void => {
    request.log.error({ err: error }, 'fastify-cors-guard: onDenied failed; the response is unaffected')
  }
  try {
    const result = onDenied(request, denial)
    if (isThenable(result)) result.then(undefined, complain)
  } catch (error) {
    complain(error)
  }
}
