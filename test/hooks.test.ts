import t from 'tap'
import corsPlugin from '../lib/index'
import { appWithLog, corsApp, get, preflight } from './support/app'

const allowed = 'https://app.example'

t.test('error responses carry the CORS headers so the page can read the status', async (t) => {
  const { app } = await corsApp({ origin: [allowed] }, (app) => {
    app.addHook('onRequest', async (request, reply) => {
      if (request.url === '/private') return reply.code(401).send({ error: 'no token' })
    })
    app.get('/private', async () => 'secret')
    app.get('/boom', async () => { throw new Error('database password is hunter2') })
  })
  for (const [url, status] of [['/private', 401], ['/boom', 500], ['/missing', 404]] as const) {
    const response = await app.inject(get(url, allowed))
    t.equal(response.statusCode, status, url)
    t.equal(response.headers['access-control-allow-origin'], allowed, url)
    t.equal(response.headers.vary, 'Origin', url)
  }
})

t.test('a response sent by a hook that runs before the plugin still gets the CORS headers', async (t) => {
  const { app } = appWithLog()
  app.addHook('onRequest', async (_request, reply) => reply.code(401).send({ error: 'no token' }))
  await app.register(corsPlugin, { origin: [allowed] })
  app.get('/', async () => 'x')
  await app.ready()
  const response = await app.inject(get('/', allowed))
  t.equal(response.statusCode, 401)
  t.equal(response.headers['access-control-allow-origin'], allowed)
})

for (const hook of ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization'] as const) {
  t.test(`hook: '${hook}' decides simple requests and preflights`, async (t) => {
    const { app } = await corsApp({ origin: [allowed], hook, methods: ['GET', 'PUT'] }, (app) => {
      app.get('/', async () => ({ ok: true }))
      app.get('/text', async () => 'plain text skips preSerialization')
    })
    const simple = await app.inject(get('/', allowed))
    t.equal(simple.headers['access-control-allow-origin'], allowed)
    t.same(simple.json(), { ok: true })
    const text = await app.inject(get('/text', allowed))
    t.equal(text.headers['access-control-allow-origin'], allowed, 'decided in onSend when the hook did not run')
    const answer = await app.inject(preflight('/', allowed, 'PUT'))
    t.equal(answer.headers['access-control-allow-origin'], allowed)
    t.equal(answer.headers['access-control-allow-methods'], 'GET, PUT')
  })
}

t.test('an async origin function decides in onSend when the hook stage was skipped', async (t) => {
  const { app } = await corsApp({ origin: async (origin) => origin === allowed, hook: 'preSerialization' }, (app) => {
    app.get('/text', async () => 'plain text skips preSerialization')
  })
  const response = await app.inject(get('/text', allowed))
  t.equal(response.headers['access-control-allow-origin'], allowed)
})

t.test('a handler sees the CORS headers and may adjust them for an allowed origin, as with @fastify/cors', async (t) => {
  const { app } = await corsApp({ origin: [allowed] }, (app) => {
    app.get('/', async (_request, reply) => {
      reply.header('access-control-expose-headers', 'x-request-id')
      return { seen: reply.getHeader('access-control-allow-origin') }
    })
  })
  const response = await app.inject(get('/', allowed))
  t.same(response.json(), { seen: allowed })
  t.equal(response.headers['access-control-expose-headers'], 'x-request-id')
})

t.test('a refused origin is never let in by headers a handler set', async (t) => {
  const { app } = await corsApp({ origin: [allowed] }, (app) => {
    app.get('/', async (_request, reply) => {
      reply.header('access-control-allow-origin', '*')
      reply.header('access-control-allow-credentials', 'true')
      return 'x'
    })
  })
  const refused = await app.inject(get('/', 'https://evil.example'))
  t.equal(refused.headers['access-control-allow-origin'], undefined, 'a stray allow header is removed for a refused origin')
  t.equal(refused.headers['access-control-allow-credentials'], undefined)
})

t.test('the OPTIONS catch-all is hidden from documentation by default and logs at logLevel', async (t) => {
  const seen: Array<{ url: string, hide: unknown, logLevel: unknown }> = []
  for (const options of [{ logLevel: 'silent' as const, hideOptionsRoute: false }, {}]) {
    const { app } = appWithLog()
    app.addHook('onRoute', (route) => {
      if (route.method === 'OPTIONS') seen.push({ url: route.url, hide: (route.schema as { hide?: boolean }).hide, logLevel: route.logLevel })
    })
    await app.register(corsPlugin, options)
    await app.ready()
  }
  t.same(seen, [{ url: '*', hide: false, logLevel: 'silent' }, { url: '*', hide: true, logLevel: '' }])
})

t.test("the plugin's route hook runs before the route's own hooks, given as a function or an array", async (t) => {
  const seen: string[] = []
  const { app } = await corsApp({ origin: [allowed] }, (app) => {
    app.get('/single', { onRequest: (_request, reply, next) => { seen.push(String(reply.getHeader('access-control-allow-origin'))); next() } }, async () => 'x')
    app.get('/array', { onRequest: [(_request, reply, next) => { seen.push(String(reply.getHeader('access-control-allow-origin'))); next() }] }, async () => 'x')
  })
  await app.inject(get('/single', allowed))
  await app.inject(get('/array', allowed))
  t.same(seen, [allowed, allowed])
})
