import type { FastifyRequest } from 'fastify'
import { ask, describeError } from './ask'
import { compileDelegated, type Settings } from './configure'
import type { Decision } from './decision'
import { formatProblem } from './errors'
import type { Policy, RouteEntry } from './policy'

/**
 * Asks the `delegator` for this request's options and compiles them. Resolves to the policy, or to
 * a refusal when the delegator fails or answers unusable options; never rejects.
 */
export function delegatedDecision (settings: Settings, entry: RouteEntry, request: FastifyRequest, thisArg: unknown): Promise<Policy | Decision> {
  const delegator = settings.delegator as NonNullable<Settings['delegator']>
  return settings.delegatorDeadlines.bound(ask<unknown>(delegator, thisArg, request)).then(
    options => {
      if (typeof options !== 'object' || options === null || Array.isArray(options)) {
        return failure('invalid-delegated-options', `the delegator answered ${options === null ? 'null' : typeof options} instead of an options object`)
      }
      let compiled: ReturnType<typeof compileDelegated>
      try {
        compiled = compileDelegated(options, settings, entry)
      } catch (error) {
        // Options whose properties throw when read (a getter, a Proxy) deny like unusable ones.
        return failure('invalid-delegated-options', `the delegator's options could not be read: ${describeError(error)}`)
      }
      return Array.isArray(compiled)
        ? failure('invalid-delegated-options', `the delegator's options are unusable: ${compiled.map(formatProblem).join('; ')}`)
        : compiled
    },
    (error: unknown) => failure('origin-resolver-failed', `the delegator failed: ${describeError(error)}`)
  )
}

function failure (reason: Decision['reason'], detail: string): Decision {
  // Options decided per request make every answer depend on the request: hence Vary: Origin.
  return Object.freeze({ allowed: false, reason, detail, allowOrigin: undefined, headers: [], vary: 'Origin', owned: true })
}
