import t from 'tap'
import type { FastifyRequest } from 'fastify'
import corsPlugin, { type OriginCallback } from '../lib/index'
import { appWithLog, corsApp, corsHeaders, get, preflight } from './support/app'

const allowed = 'https://app.example'

t.test('an async origin function decides per origin', async (t) => {
  const asked: Array<string | undefined> = []
  const { app } = await corsApp({
    origin: async (origin) => {
      asked.push(origin)
      return origin === allowed
    }
  })
  t.equal((await app.inject(get('/', allowed))).headers['access-control-allow-origin'], allowed)
  const refused = await app.inject(get('/', 'https://evil.example'))
  t.equal(refused.headers['access-control-allow-origin'], undefined)
  t.equal(refused.headers.vary, 'Origin')
  t.same(asked, [allowed, 'https://evil.example'])
})

t.test('a callback origin function is called with the Fastify instance as this', async (t) => {
  let self: unknown
  const { app } = await corsApp({
    origin: function (this: unknown, origin: string | undefined, callback: OriginCallback) {
      self = this
      callback(null, origin === allowed)
    }
  })
  t.equal((await app.inject(get('/', allowed))).headers['access-control-allow-origin'], allowed)
  t.equal(self, app)
})

t.test('the origin function may answer with any static origin form', async (t) => {
  const answers: Record<string, unknown> = {
    'https://list.example': ['https://list.example'],
    'https://regexp.example': /^https:\/\/regexp\.example$/,
    'https://star.example': '*',
    'https://self.example': 'https://self.example',
    'https://other.example': 'https://elsewhere.example',
    'https://pattern.example.com': 'https://*.example.com',
    'https://sync.example': 'sync'
  }
  const { app } = await corsApp({
    origin: ((origin: string, callback: OriginCallback) => {
      if (answers[origin] === 'sync') return true
      callback(null, answers[origin] as never)
    }) as never
  })
  const expected: Record<string, string | undefined> = {
    'https://list.example': 'https://list.example',
    'https://regexp.example': 'https://regexp.example',
    'https://star.example': '*',
    'https://self.example': 'https://self.example',
    'https://other.example': 'https://elsewhere.example',
    'https://pattern.example.com': 'https://pattern.example.com',
    'https://sync.example': 'https://sync.example'
  }
  for (const [origin, allowOrigin] of Object.entries(expected)) {
    const response = await app.inject(get('/', origin))
    t.equal(response.headers['access-control-allow-origin'], allowOrigin, origin)
    t.equal(response.headers.vary, 'Origin', origin)
  }
})

t.test('the origin function is not asked without a plausible Origin', async (t) => {
  let calls = 0
  const { app } = await corsApp({ origin: async () => { calls++; return true } })
  const none = await app.inject(get('/'))
  t.equal(none.headers.vary, 'Origin')
  await app.inject(get('/', 'https://a.example, https://b.example'))
  t.equal(calls, 0)
})

t.test("answering '*' with credentials refuses, since browsers would", async (t) => {
  const { app } = await corsApp({ origin: async () => '*', credentials: true })
  t.same(corsHeaders(await app.inject(get('/', allowed))), {})
})

t.test("answering true to 'null' refuses; answering 'null' explicitly allows it", async (t) => {
  const { app } = await corsApp({ origin: async (origin) => origin === 'null' ? true : 'null' })
  t.equal((await app.inject(get('/', 'null'))).headers['access-control-allow-origin'], undefined)
  const { app: explicit } = await corsApp({ origin: async () => 'null' })
  t.equal((await explicit.inject(get('/', 'null'))).headers['access-control-allow-origin'], 'null')
})

t.test('an origin function that fails denies the request and logs why, never a 500 echoing the origin', async (t) => {
  const failing: Record<string, (origin: string | undefined, callback: OriginCallback) => unknown> = {
    throws: () => { throw new Error('allowlist lookup crashed') },
    rejects: async () => { throw new TypeError('database down') },
    'calls back an error': (_origin, callback) => callback(new Error('nope')),
    'rejects a non-error': () => Promise.reject('plain string'), // eslint-disable-line prefer-promise-reject-errors
    'answers garbage': async () => 42 as never,
    'answers null': async () => null as never,
    'answers a header-breaking string': async () => 'https://x.example\r\nSet-Cookie: a=b',
    'returns nothing without a callback': (() => undefined) as never,
    'answers a list that throws when read': async () => Object.defineProperty([], 0, { get () { throw new Error('trap') }, enumerable: true }) as never,
    'rejects an error that throws when read': async () => { throw new Proxy(new Error('hidden'), { get () { throw new Error('trap') } }) }
  }
  for (const [name, origin] of Object.entries(failing)) {
    const { app, logs } = await corsApp({ origin: origin as never })
    const response = await app.inject(get('/', 'https://probe.example'))
    t.equal(response.statusCode, 200, name)
    t.same(corsHeaders(response), {}, name)
    t.notMatch(response.body, 'probe.example', name)
    const logged = logs.find(line => line.level === 50)
    t.match(logged, { cors: { reason: 'origin-resolver-failed', origin: 'https://probe.example' }, msg: /^fastify-cors-guard: refused https:\/\/probe\.example on GET \/: the origin could not be checked: / }, name)
  }
})

t.test('a failing origin function refuses preflights with the refusal status', async (t) => {
  const { app } = await corsApp({ origin: async () => { throw new Error('down') } })
  const response = await app.inject(preflight('/', allowed, 'PUT'))
  t.equal(response.statusCode, 403)
  t.same(corsHeaders(response), {})
})

t.test('a callback delegator, returned by the whole-options function, decides the options per request', async (t) => {
  // Fastify calls a function given as plugin options with the instance; what it returns is the delegator.
  const { app } = await corsApp((() => (request: FastifyRequest, callback: (error: Error | null, options?: object) => void) => {
    callback(null, { origin: request.headers['x-tenant'] === 'a' ? [allowed] : false })
  }) as never)
  const tenantA = await app.inject({ method: 'GET', url: '/', headers: { origin: allowed, 'x-tenant': 'a' } })
  t.equal(tenantA.headers['access-control-allow-origin'], allowed)
  t.equal(tenantA.headers.vary, 'Origin')
  const tenantB = await app.inject({ method: 'GET', url: '/', headers: { origin: allowed, 'x-tenant': 'b' } })
  t.equal(tenantB.headers['access-control-allow-origin'], undefined)
})

t.test('a promise delegator in the delegator option merges over the plugin options', async (t) => {
  const shared = { origin: '*' }
  const { app } = await corsApp({
    exposedHeaders: ['x-total'],
    delegator: async () => shared
  }, (app) => {
    app.get('/', async () => 'x')
    app.get('/capped', { config: { cors: { maxAge: 5 } } }, async () => 'x')
    app.get('/off', { config: { cors: false } }, async () => 'x')
  })
  const response = await app.inject(get('/', allowed))
  t.same(corsHeaders(response), { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'x-total' })
  t.equal(response.headers.vary, 'Origin', 'options decided per request make the answer vary')
  t.equal((await app.inject(preflight('/capped', allowed, 'GET'))).headers['access-control-max-age'], '5')
  t.equal((await app.inject(preflight('/capped', allowed, 'GET'))).headers['access-control-max-age'], '5', 'compiled once, served again')
  t.same(corsHeaders(await app.inject(get('/off', allowed))), {})
})

t.test('a delegator that fails or answers unusable options denies and logs', async (t) => {
  const delegators: Record<string, () => unknown> = {
    rejects: async () => { throw new Error('config service down') },
    'answers null': async () => null,
    'answers an array': async () => [],
    'answers a wrong type': async () => ({ maxAge: 'long' }),
    'answers an unsafe config': async () => ({ origin: '*', credentials: true }),
    'answers options that throw when read': async () => ({ get origin () { throw new Error('trap') } }),
    'rejects an error that throws when read': async () => { throw new Proxy(new Error('hidden'), { get () { throw new Error('trap') } }) }
  }
  const reasons: Record<string, string> = {
    rejects: 'origin-resolver-failed',
    'answers null': 'invalid-delegated-options',
    'answers an array': 'invalid-delegated-options',
    'answers a wrong type': 'invalid-delegated-options',
    'answers an unsafe config': 'invalid-delegated-options',
    'answers options that throw when read': 'invalid-delegated-options',
    'rejects an error that throws when read': 'origin-resolver-failed'
  }
  for (const [name, delegator] of Object.entries(delegators)) {
    const { app, logs } = await corsApp({ delegator: delegator as never })
    const response = await app.inject(get('/', allowed))
    t.same(corsHeaders(response), {}, name)
    t.equal(response.headers.vary, 'Origin', name)
    t.match(logs.find(line => line.level === 50), { cors: { reason: reasons[name] } }, name)
  }
})

t.test('under strict: false a delegated unsafe config is used as written', async (t) => {
  const { app } = await corsApp({ strict: false, delegator: async () => ({ origin: ['https://app.example/', allowed] }) })
  t.equal((await app.inject(get('/', allowed))).headers['access-control-allow-origin'], allowed)
})

t.test('a promise delegator returned by the whole-options function is given the request', async (t) => {
  const { app } = appWithLog()
  let seenUrl: string | undefined
  await app.register(corsPlugin, () => (async (request: FastifyRequest) => {
    seenUrl = request.url
    return { origin: [allowed] }
  }) as never)
  app.get('/who', async () => 'x')
  await app.ready()
  t.equal((await app.inject(get('/who', allowed))).headers['access-control-allow-origin'], allowed)
  t.equal(seenUrl, '/who')
})
