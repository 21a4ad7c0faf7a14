import type { Decision } from './decision'
import { isSafelistedMethod } from './fetch-rules'
import { parseRequestedHeaders } from './header-list'
import type { HeaderPair, Policy, PreflightAnswers } from './policy'

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
  // Browsers repeat a page's few preflights: an allowed answer is remembered by exactly what was
  // asked. The method's length keeps the key unambiguous whatever the two values contain.
  const asked = `${method.length}:${method}${requestHeaders ?? ''}`
  const remembered = policy.preflightAnswers.get(originDecision)?.get(asked)
  if (remembered !== undefined) return remembered
  const requested = requestHeaders === undefined ? [] : parseRequestedHeaders(requestHeaders)
  const answer = answerPreflight(policy, originDecision, allowHeadersValue(policy, requested, requestHeaders))
  if (!isMethodAllowed(policy, method)) return { ...answer, allowed: false, reason: 'method-not-allowed', detail: method }
  const refusedHeader = requested === undefined ? MALFORMED_REQUEST_HEADERS : requested.find(name => !isHeaderAllowed(policy, name))
  if (refusedHeader !== undefined) return { ...answer, allowed: false, reason: 'header-not-allowed', detail: refusedHeader }
  return remember(policy.preflightAnswers, originDecision, asked, Object.freeze(answer))
}

/** Per policy: at most this many origin decisions, each with this many remembered preflights. */
export const REMEMBERED_DECISIONS = 16
export const REMEMBERED_PREFLIGHTS = 256

/**
 * Bounded by clearing when full: an origin function answering a fixed origin makes a new decision
 * per request, and a client can vary the headers it asks for without end.
 */
function remember (answers: PreflightAnswers, originDecision: Decision, asked: string, answer: Decision): Decision {
  let byAsked = answers.get(originDecision)
  if (byAsked === undefined) {
    if (answers.size >= REMEMBERED_DECISIONS) answers.clear()
    byAsked = new Map()
    answers.set(originDecision, byAsked)
  }
  if (byAsked.size >= REMEMBERED_PREFLIGHTS) byAsked.clear()
  byAsked.set(asked, answer)
  return answer
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
