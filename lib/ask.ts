/**
 * Calls a user function that answers through a Node-style callback or a returned promise, as the
 * `origin` function and the `delegator` may. The first answer or failure wins. A function that
 * throws or rejects fails the call; one that returns nothing and takes no callback parameter can
 * never answer, so it fails at once instead of leaving the request hanging.
 */
export function callUser (
  fn: (...args: never[]) => unknown, thisArg: unknown, argument: unknown,
  answered: (answer: unknown) => void, failed: (error: unknown) => void
): void {
  let settled = false
  const answer = (value: unknown): void => {
    if (settled) return
    settled = true
    answered(value)
  }
  const fail = (error: unknown): void => {
    if (settled) return
    settled = true
    failed(error)
  }
  let result: unknown
  try {
    result = (fn as (this: unknown, argument: unknown, callback: unknown) => unknown).call(thisArg, argument, (error: unknown, value?: unknown) => {
      if (error) fail(error)
      else answer(value)
    })
  } catch (error) {
    fail(error)
    return
  }
  if (isThenable(result)) result.then(answer, fail)
  else if (result !== undefined) answer(result)
  else if (fn.length < 2) fail(new TypeError('it returned nothing and takes no callback parameter'))
}

/** `callUser` as a promise. */
export function ask<T> (fn: (...args: never[]) => unknown, thisArg: unknown, argument: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    callUser(fn, thisArg, argument, resolve as (answer: unknown) => void, reject)
  })
}

export function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/** Never throws, whatever was thrown: an error whose getters throw still gets a description. */
export function describeError (error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : `a non-error value (${typeof error})`
  } catch {
    return 'an error that could not be read'
  }
}
