import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { MAX_PENDING_LOOKUPS, OriginResolver } from '../lib/origin-resolver'
import corsPlugin from '../lib/index'
import { appWithLog, corsApp, corsHeaders, get } from './support/app'

const APP = 'https://app.example.com'

/** A lookup as a promise: resolves to the function's answer, rejects with why there is none. */
function answerOf (resolver: OriginResolver, origin: string): Promise<unknown> {
  return new Promise((resolve, reject) => resolver.lookup(origin, undefined, (ok, value) => ok ? resolve(value) : reject(value)))
}

t.test('a resolver that never answers is refused after originTimeout', async (t) => {
  const { app, logs } = await corsApp({ origin: () => new Promise(() => {}), originTimeout: 20 })
  const response = await app.inject(get('/', APP))
  t.same(corsHeaders(response), {})
  t.match(logs.find(line => line.cors !== undefined), { cors: { reason: 'origin-resolver-failed', detail: 'Error: no answer within 20 ms' } })
})

t.test('a delegator that never answers is refused after originTimeout', async (t) => {
  const { app } = await corsApp({ delegator: () => new Promise(() => {}), originTimeout: 20 })
  t.same(corsHeaders(await app.inject(get('/', APP))), {})
})

// Nothing keeps a plain process alive while an inject() request waits on a function that never
// answers: the timeout must still answer it, and the process must then exit on its own.
const root = join(__dirname, '..')
t.test('in a process with nothing else to do, a request waiting on the function still gets its timeout answer', { skip: existsSync(join(root, 'dist', 'index.cjs')) ? false : 'dist/ not built: run npm run build' }, async (t) => {
  const output = execFileSync(process.execPath, ['-e', `
    const fastify = require('fastify')()
    fastify.register(require(${JSON.stringify(root)}), { origin: () => new Promise(() => {}), originTimeout: 30 })
    fastify.get('/', async () => 'ok')
    fastify.inject({ url: '/', headers: { origin: ${JSON.stringify(APP)} } }).then(response => {
      console.log(response.statusCode, response.headers['access-control-allow-origin'] ?? 'no Allow-Origin')
    })
  `], { encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 10_000 })
  t.equal(output.trim(), '200 no Allow-Origin')
})

t.test('concurrent requests from one origin share one call to the origin function', async (t) => {
  let calls = 0
  let answer: ((value: boolean) => void) | undefined
  const { app } = await corsApp({ origin: () => { calls++; return new Promise<boolean>(resolve => { answer = resolve }) } })
  const responses = Promise.all([app.inject(get('/', APP)), app.inject(get('/', APP)), app.inject(get('/', APP))])
  await new Promise(resolve => setImmediate(resolve))
  answer?.(true)
  for (const response of await responses) t.equal(response.headers['access-control-allow-origin'], APP)
  t.equal(calls, 1)
})

t.test('originCache remembers answers per origin, within its size', async (t) => {
  let calls = 0
  const { app } = await corsApp({ origin: async (origin) => { calls++; return origin === APP }, originCache: { max: 2 } })
  for (let i = 0; i < 3; i++) await app.inject(get('/', APP))
  await app.inject(get('/', 'https://evil.example'))
  await app.inject(get('/', 'https://evil.example'))
  t.equal(calls, 2, 'allowed and refused answers are both cached')
  t.equal((await app.inject(get('/', APP))).headers['access-control-allow-origin'], APP)
})

t.test('the cache stays within max entries whatever the number of distinct origins', async (t) => {
  const resolver = new OriginResolver(async () => true, { timeout: 0, cache: { max: 100, ttl: 0 } })
  for (let i = 0; i < 5000; i++) await answerOf(resolver, `https://o${i}.example`)
  t.equal(resolver.cachedAnswers, 100)
})

t.test('cached answers expire after ttl', async (t) => {
  let now = 1_000_000
  const realNow = Date.now
  Date.now = () => now
  t.teardown(() => { Date.now = realNow })
  let calls = 0
  const resolver = new OriginResolver(async () => { calls++; return true }, { timeout: 0, cache: { max: 10, ttl: 1000 } })
  await answerOf(resolver, APP)
  now += 999
  await answerOf(resolver, APP)
  t.equal(calls, 1)
  now += 2
  await answerOf(resolver, APP)
  t.equal(calls, 2)
})

t.test('failures and undefined answers are not cached', async (t) => {
  let calls = 0
  const flaky = async (): Promise<undefined> => { calls++; if (calls === 1) throw new Error('flaky'); return undefined }
  const resolver = new OriginResolver(flaky as never, { timeout: 0, cache: { max: 10, ttl: 0 } })
  await t.rejects(answerOf(resolver, APP), /flaky/)
  t.equal(await answerOf(resolver, APP), undefined)
  t.equal(resolver.cachedAnswers, 0)
  t.equal(new OriginResolver(async () => true, { timeout: 0, cache: undefined }).cachedAnswers, 0)
})

t.test('lookups waiting at once are bounded: past the bound, refused without calling', async (t) => {
  let calls = 0
  const resolver = new OriginResolver(() => { calls++; return new Promise(() => {}) }, { timeout: 0, cache: undefined })
  const waiting = Array.from({ length: MAX_PENDING_LOOKUPS }, (_, i) => answerOf(resolver, `https://o${i}.example`))
  t.equal(waiting.length, MAX_PENDING_LOOKUPS)
  await t.rejects(answerOf(resolver, 'https://one-more.example'), /more than 1000 origins are waiting/)
  t.equal(calls, MAX_PENDING_LOOKUPS)
})

t.test('originTimeout and originCache are validated', async (t) => {
  for (const options of [{ originTimeout: -1 }, { originCache: { max: 0 } }, { originCache: { max: 5, size: 1 } }, { originCache: true }]) {
    const { app } = appWithLog()
    app.register(corsPlugin, options as never)
    await t.rejects(Promise.resolve(app.ready()), { code: 'CORS_GUARD_INVALID_CONFIG' }, JSON.stringify(options))
  }
})

t.test('an answer or a failure that comes after the timeout changes nothing', async (t) => {
  let calls = 0
  const settlers: Array<{ resolve: (value: unknown) => void, reject: (error: Error) => void }> = []
  const resolver = new OriginResolver(() => {
    calls++
    return new Promise<boolean>((resolve, reject) => { settlers.push({ resolve: resolve as (value: unknown) => void, reject }) })
  }, { timeout: 20, cache: { max: 10, ttl: 0 } })
  await t.rejects(answerOf(resolver, APP), /no answer within 20 ms/)
  settlers[0]?.resolve(true)
  await t.rejects(answerOf(resolver, APP), /no answer within 20 ms/, 'the late answer was not cached: asked again')
  settlers[1]?.reject(new Error('late'))
  await new Promise(resolve => setImmediate(resolve))
  t.equal(resolver.cachedAnswers, 0)
  t.equal(calls, 2)
})

t.test('a function that answers at once is not shared as a pending lookup', async (t) => {
  let calls = 0
  const resolver = new OriginResolver(() => { calls++; return true }, { timeout: 1000, cache: undefined })
  t.equal(await answerOf(resolver, APP), true)
  t.equal(await answerOf(resolver, APP), true)
  t.equal(calls, 2, 'each request asks: nothing stale was left to share')
})

t.test('a cached answer is handed back before lookup returns', async (t) => {
  const resolver = new OriginResolver(async () => true, { timeout: 1000, cache: { max: 10, ttl: 0 } })
  await answerOf(resolver, APP)
  let handed: unknown[] | undefined
  resolver.lookup(APP, undefined, (ok, value) => { handed = [ok, value] })
  t.same(handed, [true, true], 'no promise and no tick in between')
})

t.test('every request waiting on one call is answered exactly once, also on a timeout', async (t) => {
  const calls: Array<Array<[boolean, unknown]>> = [[], [], []]
  const resolver = new OriginResolver(() => new Promise(() => {}), { timeout: 20, cache: undefined })
  await new Promise<void>(resolve => {
    for (const seen of calls) {
      resolver.lookup(APP, undefined, (ok, value) => {
        seen.push([ok, value])
        if (calls.every(list => list.length > 0)) resolve()
      })
    }
  })
  await new Promise(resolve => setTimeout(resolve, 40))
  for (const seen of calls) {
    t.equal(seen.length, 1)
    t.equal(seen[0]?.[0], false)
    t.match(String(seen[0]?.[1]), /no answer within 20 ms/)
  }
})
