import { refusal, type Decision } from './decision'
import { compileOriginAnswer } from './origin-matcher'
import { isPlausibleOrigin } from './origin-syntax'
import type { Policy } from './policy'
import { describeError } from './ask'

/**
 * Decides a request's origin under a policy. Synchronous for every static origin option; a promise
 * only when the user's origin function has to be asked. The promise never rejects: a function that
 * throws, rejects or answers garbage denies the request.
 */
export function decideOrigin (policy: Policy, origin: string | undefined, thisArg: unknown): Decision | Promise<Decision> {
  const rule = policy.origin
  const decisions = policy.decisions
  switch (rule.type) {
    case 'off':
      return decisions.disabled
    case 'any':
      return decisions.allowedStatic
    case 'fixed':
      return origin === undefined || origin === rule.value ? decisions.allowedStatic : decisions.fixedMismatch
  }
  if (origin === undefined) return decisions.noOrigin
  // An exact hit is as plausible as the listed origin it equals: the character check is for the rest.
  if (rule.type === 'match' && rule.listed.has(origin)) return decisions.allowedReflect
  if (!isPlausibleOrigin(origin)) return decisions.invalidOrigin
  if (rule.type === 'match') return rule.test(origin) ? decisions.allowedReflect : decisions.denied
  return new Promise(resolve => {
    rule.resolver.lookup(origin, thisArg, (ok, value) => {
      resolve(ok ? decideAnswer(policy, value, origin) : refusal(policy, 'origin-resolver-failed', describeError(value)))
    })
  })
}

function decideAnswer (policy: Policy, answer: unknown, origin: string): Decision {
  let rule: ReturnType<typeof compileOriginAnswer>
  try {
    rule = compileOriginAnswer(answer)
  } catch (error) {
    // An answer whose properties throw when read (a getter, a Proxy) must deny, not leave the
    // request waiting on a rejected promise.
    return refusal(policy, 'origin-resolver-failed', `the origin function's answer could not be read: ${describeError(error)}`)
  }
  const decisions = policy.decisions
  if (rule === undefined) {
    return refusal(policy, 'origin-resolver-failed', `the origin function answered ${describeAnswer(answer)}, which is not an origin option`)
  }
  switch (rule.type) {
    case 'off':
      return decisions.denied
    case 'any':
      return policy.credentials ? decisions.wildcardWithCredentials : decisions.allowedAny
    case 'fixed':
      return rule.value === origin
        ? decisions.allowedReflect
        : Object.freeze({ ...decisions.fixedMismatch, allowOrigin: rule.value })
    case 'match':
      return rule.test(origin) ? decisions.allowedReflect : decisions.denied
  }
}

function describeAnswer (answer: unknown): string {
  return answer === null ? 'null' : typeof answer === 'string' ? 'a string that is not an origin' : `a value of type ${typeof answer}`
}
