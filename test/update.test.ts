import t from 'tap'
import { CorsConfigError } from '../lib/index'
import { corsApp, get, preflight } from './support/app'

const A = 'https://a.example'
const B = 'https://b.example'

t.test('update() swaps the plugin policy and recompiles route policies over it', async (t) => {
  const { app } = await corsApp({ origin: [A] }, (app) => {
    app.get('/', async () => 'x')
    app.get('/cached', { config: { cors: { maxAge: 60 } } }, async () => 'x')
    app.get('/off', { config: { cors: false } }, async () => 'x')
  })
  t.equal((await app.inject(get('/', B))).headers['access-control-allow-origin'], undefined)
  app.cors.update({ origin: [A, B] })
  t.equal((await app.inject(get('/', B))).headers['access-control-allow-origin'], B)
  const cached = await app.inject(preflight('/cached', B, 'GET'))
  t.equal(cached.headers['access-control-allow-origin'], B, 'the route keeps its own keys over the new plugin options')
  t.equal(cached.headers['access-control-max-age'], '60')
  t.equal((await app.inject(get('/off', B))).headers['access-control-allow-origin'], undefined)
  t.match(await app.cors.explain({ url: '/', origin: B }), { verdict: 'allowed' })
})

t.test('an invalid update throws every problem, routes included, and keeps the old policy', async (t) => {
  const { app } = await corsApp({ origin: [A] }, (app) => {
    app.get('/', async () => 'x')
    app.get('/creds', { config: { cors: { credentials: true } } }, async () => 'x')
  })
  t.throws(() => app.cors.update({ origin: 'https://b.example/' }), CorsConfigError)
  t.throws(() => app.cors.update({ origin: '*' }), {
    message: /the routes under the new CORS options:\n {2}- \[CORS_GUARD_WILDCARD_WITH_CREDENTIALS\] route GET \/creds config\.cors\.origin = "\*"/
  })
  t.equal((await app.inject(get('/', A))).headers['access-control-allow-origin'], A)
})

t.test('options wired at registration cannot change in update()', async (t) => {
  const { app } = await corsApp({ origin: [A], hook: 'onRequest' })
  t.throws(() => app.cors.update({ origin: [B], hook: 'preHandler' }), {
    message: /\[CORS_GUARD_FIXED_OPTION\] hook = "preHandler": hook is fixed when the plugin is registered \(it is "onRequest"\)/
  })
  app.cors.update({ origin: [B], hook: 'onRequest' })
  t.equal((await app.inject(get('/', B))).headers['access-control-allow-origin'], B, 'the same value is fine')
})

t.test('a request in flight is decided wholly under the policy it started with', async (t) => {
  let release: (() => void) | undefined
  const gate = new Promise<void>(resolve => { release = resolve })
  const { app } = await corsApp({ origin: [A] }, (app) => {
    app.get('/slow', async () => { await gate; return 'x' })
  })
  const inFlight = app.inject(get('/slow', A))
  await new Promise(resolve => setImmediate(resolve))
  app.cors.update({ origin: [B] })
  release?.()
  const response = await inFlight
  t.equal(response.headers['access-control-allow-origin'], A)
  t.equal(response.headers.vary, 'Origin')
  t.equal((await app.inject(get('/slow', A))).headers['access-control-allow-origin'], undefined)
})

t.test('update() replaces the refusal log settings too', async (t) => {
  const { app, logs } = await corsApp({ origin: [A] })
  app.cors.update({ origin: [A], logDenials: false })
  await app.inject(get('/', B))
  t.equal(logs.filter(line => line.cors !== undefined).length, 0)
})
