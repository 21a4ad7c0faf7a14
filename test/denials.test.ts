import t from 'tap'
import type { FastifyRequest } from 'fastify'
import corsPlugin, { type CorsDenial } from '../lib/index'
import { DenialReporter } from '../lib/denials'
import { compilePolicy } from '../lib/policy'
import { appWithLog, corsApp, corsHeaders, get, preflight } from './support/app'

const APP = 'https://app.example.com'

t.test('a refusal is logged once through the request logger, with code, origin, method, URL and hint', async (t) => {
  const { app, logs } = await corsApp({ origin: [APP] })
  await app.inject(get('/?page=2', 'http://app.example.com'))
  const lines = logs.filter(line => line.cors !== undefined)
  t.equal(lines.length, 1)
  t.match(lines[0], {
    level: 30,
    cors: { reason: 'origin-not-allowed', origin: 'http://app.example.com', method: 'GET', url: '/?page=2', hint: /only in the scheme/ },
    msg: 'fastify-cors-guard: refused http://app.example.com on GET /?page=2: the origin is not in the allowed origins of this route ' +
      '(http://app.example.com differs from the allowed https://app.example.com only in the scheme (http instead of https))'
  })
})

t.test('refused preflights name the method they were for', async (t) => {
  const { app, logs } = await corsApp({ origin: [APP], methods: ['GET'] })
  await app.inject(preflight('/', APP, 'DELETE'))
  t.match(logs.find(line => line.cors !== undefined), { cors: { reason: 'method-not-allowed', method: 'OPTIONS (preflight for DELETE)', detail: 'DELETE' } })
})

t.test('logDenials sets the level, and false turns refusal logs off', async (t) => {
  const { app, logs } = await corsApp({ origin: [APP], logDenials: { level: 'warn' } })
  await app.inject(get('/', 'https://evil.example'))
  t.equal(logs.find(line => line.cors !== undefined)?.level, 40)
  const { app: quiet, logs: none } = await corsApp({ origin: [APP], logDenials: false })
  await quiet.inject(get('/', 'https://evil.example'))
  t.equal(none.filter(line => line.cors !== undefined).length, 0)
})

t.test('allowed requests, requests without Origin and CORS-off routes are not refusals', async (t) => {
  const { app, logs } = await corsApp({ origin: [APP] }, (app) => {
    app.get('/', async () => 'x')
    app.get('/off', { config: { cors: false } }, async () => 'x')
  })
  await app.inject(get('/', APP))
  await app.inject(get('/'))
  await app.inject(get('/off', 'https://evil.example'))
  t.equal(logs.filter(line => line.cors !== undefined).length, 0)
})

t.test('a flood of refusals is logged at most perMinute times a minute, then counted', async (t) => {
  let now = 0
  const reporter = new DenialReporter({ level: 'info', perMinute: 3, onDenied: undefined }, () => now)
  const lines: Array<{ level: string, object: unknown, message: string }> = []
  const log = Object.fromEntries(['info', 'error'].map(level => [level, (object: unknown, message: string) => lines.push({ level, object, message })]))
  const request = { headers: { origin: 'https://evil.example' }, method: 'GET', url: '/', log } as unknown as FastifyRequest
  const policy = compilePolicy({ origin: [APP] })
  for (let i = 0; i < 1000; i++) reporter.report(request, policy.decisions.denied, policy, false)
  t.equal(lines.length, 3, '1000 refusals in one minute: 3 lines')
  now = 60_000
  reporter.report(request, policy.decisions.denied, policy, false)
  t.equal(lines.length, 5)
  t.match(lines[3], { level: 'info', object: { cors: { suppressed: 997 } }, message: 'fastify-cors-guard: 997 more CORS refusals were not logged in the last minute' })
  t.match(lines[4]?.message, /refused https:\/\/evil\.example/)
})

t.test('onDenied sees every refusal and cannot change the response, even when it throws', async (t) => {
  const seen: CorsDenial[] = []
  const throwing = await corsApp({ origin: [APP], logDenials: false, onDenied: (_request, denial) => { seen.push(denial); throw new Error('metrics down') } })
  const rejecting = await corsApp({ origin: [APP], logDenials: false, onDenied: async () => { throw new Error('alerting down') } })
  for (const { app, logs } of [throwing, rejecting]) {
    const response = await app.inject(get('/', 'https://evil.example'))
    t.equal(response.statusCode, 200)
    t.same(corsHeaders(response), {})
    await new Promise(resolve => setImmediate(resolve))
    t.match(logs.find(line => line.level === 50), { msg: 'fastify-cors-guard: onDenied failed; the response is unaffected' })
  }
  t.match(seen, [{ reason: 'origin-not-allowed', origin: 'https://evil.example', method: 'GET', url: '/', preflight: false }])
})

t.test('origin function failures are logged as errors even with logDenials: false', async (t) => {
  const { app, logs } = await corsApp({ origin: async () => { throw new Error('db down') }, logDenials: false })
  await app.inject(get('/', APP))
  t.match(logs.find(line => line.cors !== undefined), { level: 50, cors: { reason: 'origin-resolver-failed', detail: 'Error: db down' } })
})

t.test('debug mode names the reason in a response header and the expected origin for near misses', async (t) => {
  const { app } = await corsApp({ origin: [APP], methods: ['GET', 'PUT'], debug: true })
  const nearMiss = await app.inject(get('/', 'http://app.example.com'))
  t.equal(nearMiss.headers['access-control-allow-origin'], APP, 'the browser console will name https://app.example.com')
  t.match(nearMiss.headers['x-cors-guard-reason'], /^origin-not-allowed: the origin is not in the allowed origins of this route \(http:\/\/app\.example\.com differs/)
  const stranger = await app.inject(get('/', 'https://evil.example'))
  t.equal(stranger.headers['access-control-allow-origin'], undefined)
  t.match(stranger.headers['x-cors-guard-reason'], /^origin-not-allowed/)
  const method = await app.inject(preflight('/', APP, 'DELETE'))
  t.equal(method.statusCode, 204)
  t.match(method.headers['x-cors-guard-reason'], /^method-not-allowed: the method DELETE/)
  const refusedPreflight = await app.inject(preflight('/', 'https://app.example.com:8443', 'PUT'))
  t.equal(refusedPreflight.statusCode, 403)
  t.equal(refusedPreflight.headers['access-control-allow-origin'], APP)
  const allowed = await app.inject(get('/', APP))
  t.equal(allowed.headers['x-cors-guard-reason'], undefined, 'allowed requests are left as they are')
})

t.test('debug mode keeps reason headers to printable ASCII', async (t) => {
  const { app } = await corsApp({ origin: async () => { throw new Error('übel\nkaputt') }, debug: true })
  const response = await app.inject(get('/', APP))
  t.match(response.headers['x-cors-guard-reason'], /^origin-resolver-failed: the origin could not be checked: Error: \?bel\?kaputt$/)
})

t.test('refusals decided in onSend are reported too', async (t) => {
  const { app, logs } = appWithLog()
  app.addHook('onRequest', async (_request, reply) => reply.code(401).send('no'))
  await app.register(corsPlugin, { origin: [APP] })
  app.get('/', async () => 'x')
  await app.ready()
  await app.inject(get('/', 'https://evil.example'))
  t.equal(logs.filter(line => line.cors !== undefined).length, 1)
})
