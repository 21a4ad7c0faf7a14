import type { HeaderPair, Policy } from './policy'

/** Stable codes for every outcome; the log, `explain()` and the tests speak in these. */
export type ReasonCode =
  | 'allowed'
  | 'no-origin'
  | 'origin-not-allowed'
  | 'invalid-origin'
  | 'cors-disabled'
  | 'origin-resolver-failed'
  | 'wildcard-with-credentials'
  | 'invalid-delegated-options'
  | 'method-not-allowed'
  | 'header-not-allowed'
  | 'credentials-not-allowed'
  | 'preflight-not-answered'

/** `allowOrigin` value meaning "echo the request's own Origin header". */
export const REFLECT = Symbol('fastify-cors-guard.reflect')

export interface Decision {
  /** Would a browser let the page read the response (as far as the server decides)? */
  readonly allowed: boolean
  readonly reason: ReasonCode
  /** `Access-Control-Allow-Origin` to send, `REFLECT`, or `undefined` for none. */
  readonly allowOrigin: string | typeof REFLECT | undefined
  readonly headers: readonly HeaderPair[]
  readonly vary: string | undefined
  /** `false` only where CORS is off for the route: the plugin then leaves the response alone. */
  readonly owned: boolean
  /** The refused method or header, or what went wrong in a resolver. */
  readonly detail?: string
  /** Preflights only: the status to answer with. */
  readonly status?: number
  /** Preflights only: a plain-text body for the answer (otherwise it is empty). */
  readonly body?: string
  /** Preflights only: `preflightContinue` hands the answered preflight on to the route. */
  readonly continuePreflight?: boolean
}

export const DISABLED: Decision = Object.freeze({
  allowed: false, reason: 'cors-disabled', allowOrigin: undefined, headers: [], vary: undefined, owned: false
})

/** The decisions for simple (non-preflight) requests that never change for a policy. */
export interface StaticDecisions {
  /** CORS off (origin: false); still varies when the options were decided for this request. */
  readonly disabled: Decision
  readonly allowedReflect: Decision
  /** `*` or the fixed origin: what `any` and `fixed` policies always send. */
  readonly allowedStatic: Decision
  readonly fixedMismatch: Decision
  readonly allowedAny: Decision
  readonly noOrigin: Decision
  readonly denied: Decision
  readonly invalidOrigin: Decision
  readonly wildcardWithCredentials: Decision
}

export function staticDecisions (policy: Omit<Policy, 'decisions' | 'preflightAnswers'>): StaticDecisions {
  const { vary, responseHeaders: headers, origin } = policy
  const refused = (reason: ReasonCode): Decision => Object.freeze({ allowed: false, reason, allowOrigin: undefined, headers: [], vary, owned: true })
  const fixedValue = origin.type === 'fixed' ? origin.value : '*'
  const allowedStatic: Decision = Object.freeze({ allowed: true, reason: 'allowed', allowOrigin: fixedValue, headers, vary, owned: true })
  return Object.freeze({
    disabled: vary === undefined ? DISABLED : Object.freeze({ ...DISABLED, vary }),
    allowedReflect: Object.freeze({ allowed: true, reason: 'allowed', allowOrigin: REFLECT, headers, vary, owned: true }),
    allowedStatic,
    // A fixed origin is sent whatever the request's origin; the browser compares and refuses.
    fixedMismatch: Object.freeze({ ...allowedStatic, allowed: false, reason: 'origin-not-allowed' }),
    allowedAny: Object.freeze({ allowed: true, reason: 'allowed', allowOrigin: '*', headers, vary, owned: true }),
    noOrigin: refused('no-origin'),
    denied: refused('origin-not-allowed'),
    invalidOrigin: refused('invalid-origin'),
    wildcardWithCredentials: refused('wildcard-with-credentials')
  })
}

/** A refusal that carries a detail (resolver failures, invalid delegated options). */
export function refusal (policy: Policy, reason: ReasonCode, detail: string): Decision {
  return Object.freeze({ ...policy.decisions.denied, reason, detail })
}
