import type { FastifyRequest } from 'fastify'
import { isThenable } from './ask'
import type { Decision } from './decision'
import { delegatedDecision } from './delegate'
import type { Policy, RouteEntry } from './policy'
import { decidePreflight } from './preflight'
import { decideOrigin } from './resolve-origin'
import type { CorsState } from './state'

export type Decided = Decision | Promise<Decision>

/** What a decision depends on, read off a request (or given to `explain()`). */
export interface CorsQuery {
  readonly origin: string | undefined
  /** Set when the request is answered as a preflight: its Access-Control-Request-Method. */
  readonly preflightMethod: string | undefined
  readonly requestHeaders: string | undefined
  /** An OPTIONS on the catch-all route that lacks Origin or Access-Control-Request-Method. */
  readonly incomplete: boolean
}

const INVALID_PREFLIGHT = 'Invalid Preflight Request'

/**
 * Decides a request under a route's entry. Synchronous unless an origin function or a delegator
 * has to be asked. `request` is only handed to a delegator; `thisArg` is what origin functions see.
 */
export function decide (state: CorsState, entry: RouteEntry, query: CorsQuery, request: FastifyRequest, thisArg: unknown): Decided {
  if (state.settings.delegator === undefined) return decideUnder(entry.policy, query, thisArg)
  return delegatedDecision(state.settings, entry, request, thisArg).then(result =>
    'decisions' in result ? decideUnder(result, query, thisArg) : result)
}

function decideUnder (policy: Policy, query: CorsQuery, thisArg: unknown): Decided {
  const decided = decideOrigin(policy, query.origin, thisArg)
  const method = query.preflightMethod
  if (method === undefined || !policy.enabled || !policy.preflight) return decided
  const answer = (decision: Decision): Decision => query.incomplete && policy.strictPreflight
    // As @fastify/cors: strictPreflight refuses an incomplete preflight, after the simple headers.
    ? { ...decision, status: 400, body: INVALID_PREFLIGHT }
    : decidePreflight(policy, decision, method, query.requestHeaders)
  return isThenable(decided) ? decided.then(answer) : answer(decided)
}
