import type { Decision } from './decision'
import { isSafelistedMethod } from './fetch-rules'
import { parseRequestedHeaders } from './header-list'
import type { HeaderPair, Policy } from './policy'

const MALFORMED_REQUEST_HEADERS = 'Access-Control-Request-Headers (too long, or not a list of header names)'

/**
 * Completes a preflight answer once the origin is decided. A refused origin gets no CORS headers
 * and the policy's 4xx status. An allowed origin always gets an ok status and the headers the
 * policy allows, never more: when the method or a header is not allowed, the browser then names
 * that method or header in its console instead of reporting a missing Allow-Origin.
 */
export function decidePreflight (policy: Policy, originDecision: Decision, method: string, requestHeaders: string | undefined): Decision {
  if (originDecision.allowOrigin === undefined) {
    // Without an Origin this is no CORS request (a lenient `strictPreflight: false` OPTIONS): nothing to refuse.
    const status = originDecision.reason === 'no-origin' ? policy.optionsSuccessStatus : policy.deniedPreflightStatus
    return { ...originDecision, vary: policy.preflightVary, status }
  }
  const requested = requestHeaders === undefined ? [] : parseRequestedHeaders(requestHeaders)
  const allowHeaders = allowHeadersValue(policy, requested, requestHeaders)
  const methodAllowed = isMethodAllowed(policy, method)
  const refusedHeader = requested === undefined ? MALFORMED_REQUEST_HEADERS : requested.find(name => !isHeaderAllowed(policy, name))
  // The common answer depends on nothing but the origin decision: build it once per policy.
  const isStatic = policy.allowedHeaders.mode === 'list' || (policy.allowedHeaders.mode === 'any' && allowHeaders === policy.allowedHeadersValue)
  if (methodAllowed && refusedHeader === undefined && isStatic) {
    let answer = policy.preflightAnswers.get(originDecision)
    if (answer === undefined) {
      answer = Object.freeze(answerPreflight(policy, originDecision, allowHeaders))
      policy.preflightAnswers.set(originDecision, answer)
    }
    return answer
  }
  const base = answerPreflight(policy, originDecision, allowHeaders)
  if (!methodAllowed) return { ...base, allowed: false, reason: 'method-not-allowed', detail: method }
  if (refusedHeader !== undefined) return { ...base, allowed: false, reason: 'header-not-allowed', detail: refusedHeader }
  return base
}

function answerPreflight (policy: Policy, originDecision: Decision, allowHeaders: string | undefined): Decision {
  const headers: HeaderPair[] = allowHeaders === undefined
    ? policy.preflightHeaders as HeaderPair[]
    : [...policy.preflightHeaders, ['access-control-allow-headers', allowHeaders]]
  return {
    ...originDecision,
    headers,
    vary: policy.preflightVary,
    status: policy.optionsSuccessStatus,
    continuePreflight: policy.preflightContinue
  }
}

function isMethodAllowed (policy: Policy, method: string): boolean {
  // Fetch standard: CORS-safelisted methods never need to appear in Access-Control-Allow-Methods.
  return isSafelistedMethod(method) || policy.anyMethod || policy.methods.has(method)
}

function isHeaderAllowed (policy: Policy, name: string): boolean {
  const rule = policy.allowedHeaders
  if (rule.mode === 'reflect') return true
  // Fetch standard: the '*' wildcard never covers Authorization; it must be listed by name.
  return rule.named.has(name) || (rule.mode === 'any' && name !== 'authorization')
}

/** The Access-Control-Allow-Headers value that depends on the request, if any. */
function allowHeadersValue (policy: Policy, requested: string[] | undefined, raw: string | undefined): string | undefined {
  const rule = policy.allowedHeaders
  if (rule.mode === 'list') return undefined
  if (rule.mode === 'reflect') return requested === undefined || requested.length === 0 ? undefined : raw
  // Chromium does not yet apply the Authorization exception to '*': when the page asks for it and
  // it is not listed, name the other requested headers instead of sending '*'.
  if (requested !== undefined && requested.includes('authorization') && !rule.named.has('authorization')) {
    const others = requested.filter(name => name !== 'authorization')
    return others.length === 0 ? undefined : others.join(', ')
  }
  return policy.allowedHeadersValue
}
