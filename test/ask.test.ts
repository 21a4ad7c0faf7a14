import t from 'tap'
import { ask, callUser } from '../lib/ask'

type Fn = (...args: never[]) => unknown

t.test('the first answer wins, however the function gives it', async (t) => {
  const both: Fn = ((_origin: string, callback: (error: unknown, answer?: unknown) => void) => {
    callback(null, 'from the callback')
    return 'from the return value'
  }) as Fn
  t.equal(await ask(both, undefined, 'x'), 'from the callback')

  const twice: Fn = ((_origin: string, callback: (error: unknown, answer?: unknown) => void) => {
    callback(null, 'first')
    callback(new Error('second'))
  }) as Fn
  t.equal(await ask(twice, undefined, 'x'), 'first')

  const throwsAfter: Fn = ((_origin: string, callback: (error: unknown, answer?: unknown) => void) => {
    callback(new Error('first'))
    throw new Error('second')
  }) as Fn
  await t.rejects(ask(throwsAfter, undefined, 'x'), /first/)
})

t.test('a throw or a rejection fails the call, even with a falsy reason', async (t) => {
  const outcomes: string[] = []
  const record = (fn: Fn): void => callUser(fn, undefined, 'x', answer => outcomes.push(`answer ${String(answer)}`), error => outcomes.push(`failure ${String(error)}`))
  record((() => { throw 0 }) as Fn) // eslint-disable-line no-throw-literal
  record((() => Promise.reject(false)) as Fn) // eslint-disable-line prefer-promise-reject-errors
  await new Promise(resolve => setImmediate(resolve))
  t.same(outcomes, ['failure 0', 'failure false'])
})
