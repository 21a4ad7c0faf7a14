import type { FastifyRequest } from 'fastify'
import { isThenable } from './ask'
import type { Decision } from './decision'
import { delegatedDecision } from './delegate'
import type { Policy, RouteEntry } from './policy'
import { decidePreflight } from './preflight'
import { decideOrigin } from './resolve-origin'
import type { CorsState } from './state'

export type Decided = Decision | Promise<Decision>

/** A request answered as a preflight. Simple requests have none, and allocate nothing. */
export interface PreflightQuery {
  /** Access-Control-Request-Method */
  readonly method: string
  readonly requestHeaders: string | undefined
  /** An OPTIONS on the catch-all route that lacks Origin or Access-Control-Request-Method. */
  readonly incomplete: boolean
}

const INVALID_PREFLIGHT = 'Invalid Preflight Request'

/**
 * Decides a request under a route's entry. Synchronous unless an origin function or a delegator
 * has to be asked. `request` is only handed to a delegator; `thisArg` is what origin functions see.
 */
export function decide (
  state: CorsState, entry: RouteEntry, origin: string | undefined, preflight: PreflightQuery | undefined,
  request: FastifyRequest, thisArg: unknown
): Decided {
  if (state.settings.delegator === undefined) return decideUnder(entry.policy, origin, preflight, thisArg)
  return delegatedDecision(state.settings, entry, request, thisArg).then(result =>
    'decisions' in result ? decideUnder(result, origin, preflight, thisArg) : result)
}

function decideUnder (policy: Policy, origin: string | undefined, preflight: PreflightQuery | undefined, thisArg: unknown): Decided {
  const decided = decideOrigin(policy, origin, thisArg)
  if (preflight === undefined || !policy.enabled || !policy.preflight) return decided
  const answer = (decision: Decision): Decision => preflight.incomplete && policy.strictPreflight
    // As @fastify/cors: strictPreflight refuses an incomplete preflight, after the simple headers.
    ? { ...decision, status: 400, body: INVALID_PREFLIGHT }
    : decidePreflight(policy, decision, preflight.method, preflight.requestHeaders)
  return isThenable(decided) ? decided.then(answer) : answer(decided)
}
