import type { Decision } from './decision'
import type { CorsDenial } from './denials'
import { findNearMiss } from './reasons'
import type { Policy } from './policy'

/** Response header that carries the reason of a refusal in debug mode (visible in devtools). */
export const REASON_HEADER = 'x-cors-guard-reason'

/**
 * Debug mode: shape a refusal so that the browser's console states the real cause.
 * - The reason goes into `x-cors-guard-reason`, which the Network panel shows.
 * - An origin that nearly matches an allowed one gets that allowed origin as
 *   Access-Control-Allow-Origin: the browser still refuses (the values differ), and its console
 *   message names the origin the server expects. This reveals allowed origins: hence debug only.
 */
export function shapeForDebug (decision: Decision, policy: Policy, denial: CorsDenial): Decision {
  const reason = printableAscii(`${denial.reason}: ${denial.message}${denial.hint === undefined ? '' : ` (${denial.hint})`}`)
  const nearMiss = denial.reason === 'origin-not-allowed' && denial.origin !== undefined
    ? findNearMiss(denial.origin, policy.allowedOrigins)
    : undefined
  return {
    ...decision,
    allowOrigin: decision.allowOrigin ?? nearMiss?.allowed,
    headers: [...decision.headers, [REASON_HEADER, reason]]
  }
}

function printableAscii (text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 500)
}
