/**
 * Calls a user function that answers through a Node-style callback or a returned promise, as the
 * `origin` function and the `delegator` may. The first answer wins. A function that throws or
 * rejects fails the call; one that returns nothing and takes no callback parameter can never
 * answer, so it fails at once instead of leaving the request hanging.
 */
export function ask<T> (fn: (...args: never[]) => unknown, thisArg: unknown, argument: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const callback = (error: unknown, answer?: T): void => {
      if (error) reject(error)
      else resolve(answer as T)
    }
    const result = (fn as (this: unknown, argument: unknown, callback: unknown) => unknown).call(thisArg, argument, callback)
    if (isThenable(result)) result.then(value => resolve(value as T), reject)
    else if (result !== undefined) resolve(result as T)
    else if (fn.length < 2) reject(new TypeError('it returned nothing and takes no callback parameter'))
  })
}

export function isThenable (value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

export function describeError (error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : `a non-error value (${typeof error})`
}
