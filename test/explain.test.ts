import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { corsApp } from './support/app'

const APP = 'https://app.example.com'

function routes (app: FastifyInstance): void {
  app.get('/items', async () => 'x')
  app.put('/items/:id', async () => 'x')
  app.delete('/admin', { config: { cors: false } }, async () => 'x')
  app.get('/partners', { config: { cors: { origin: ['https://partner.example'] } } }, async () => 'x')
}

const options = { origin: [APP], methods: ['GET', 'PUT', 'PATCH'], allowedHeaders: ['content-type', 'x-request-id'], credentials: true, exposedHeaders: ['x-total'] }

t.test('explain() reports an allowed simple request and the headers it would get', async (t) => {
  const { app } = await corsApp(options, routes)
  const explanation = await app.cors.explain({ url: '/items', origin: APP, credentials: true })
  t.same(explanation, {
    verdict: 'allowed',
    reason: 'allowed',
    message: 'allowed: the origin, method and headers are all allowed by the policy',
    route: 'route GET /items',
    preflight: null,
    response: {
      headers: {
        'access-control-allow-origin': APP,
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'x-total',
        vary: 'Origin'
      }
    }
  })
})

t.test('explain() sends a preflight first when the browser would, and reports its answer', async (t) => {
  const { app } = await corsApp(options, routes)
  const explanation = await app.cors.explain({ url: '/items/7', method: 'put', origin: APP, requestHeaders: ['Content-Type', 'X-Request-Id'] })
  t.equal(explanation.verdict, 'allowed')
  t.match(explanation.preflight, {
    status: 204,
    reason: 'allowed',
    headers: { 'access-control-allow-methods': 'GET, PUT, PATCH', 'access-control-allow-headers': 'content-type, x-request-id' }
  })
})

t.test('explain() names a refused method, with a hint for a lower-case patch', async (t) => {
  const { app } = await corsApp(options, routes)
  const explanation = await app.cors.explain({ url: '/items/7', method: 'patch', origin: APP })
  t.match(explanation, {
    verdict: 'blocked',
    reason: 'method-not-allowed',
    message: /the method patch is not in the allowed methods/,
    hint: /fetch\(\) does not upper-case it, so write method: 'PATCH'/,
    response: { headers: {} }
  })
})

t.test('explain() names a refused header', async (t) => {
  const { app } = await corsApp(options, routes)
  const explanation = await app.cors.explain({ url: '/items', origin: APP, requestHeaders: { 'x-secret': '1', accept: 'text/html' } })
  t.match(explanation, { verdict: 'blocked', reason: 'header-not-allowed', message: /the request header x-secret is not in the allowed headers/ })
})

t.test('a safelisted Content-Type value needs no preflight', async (t) => {
  const { app } = await corsApp(options, routes)
  const explanation = await app.cors.explain({ url: '/items', method: 'POST', origin: APP, requestHeaders: { 'Content-Type': 'text/plain; charset=utf-8' } })
  t.equal(explanation.preflight, null)
})

t.test('explain() hints at a near miss: scheme, port, www., case, trailing slash', async (t) => {
  const { app } = await corsApp({ origin: ['null', APP, 'http://localhost:3000'], strict: false }, routes)
  const cases: Array<[string, RegExp]> = [
    ['http://app.example.com', /only in the scheme \(http instead of https\)/],
    ['https://app.example.com:8443', /only in the port \(8443 instead of none\)/],
    ['https://www.app.example.com', /only in the www\. prefix/],
    ['http://localhost:3001', /only in the port \(3001 instead of 3000\)/],
    ['http://localhost', /only in the port \(none instead of 3000\)/],
    ['https://APP.example.com', /only in letter case/],
    ['https://app.example.com/', /only in a trailing slash/]
  ]
  for (const [origin, hint] of cases) {
    const explanation = await app.cors.explain({ url: '/items', origin })
    t.match(explanation, { verdict: 'blocked', hint }, origin)
  }
  const far = await app.cors.explain({ url: '/items', origin: 'https://elsewhere.example' })
  t.equal(far.hint, undefined, 'no hint when nothing is close')
})

t.test('explain() follows route policies, including cors: false', async (t) => {
  const { app } = await corsApp(options, routes)
  t.match(await app.cors.explain({ url: '/admin', method: 'DELETE', origin: APP }), {
    verdict: 'blocked', reason: 'cors-disabled', route: 'route DELETE /admin', preflight: { status: 404 }
  })
  t.match(await app.cors.explain({ url: '/partners', origin: APP }), { verdict: 'blocked', reason: 'origin-not-allowed', route: 'route GET /partners' })
  t.match(await app.cors.explain({ url: '/partners', origin: 'https://partner.example', credentials: true }), { verdict: 'allowed' })
})

t.test('explain() knows when credentials cannot work', async (t) => {
  const { app } = await corsApp({ origin: [APP] }, routes)
  t.match(await app.cors.explain({ url: '/items', origin: APP, credentials: true }), { verdict: 'blocked', reason: 'credentials-not-allowed' })
  const { app: star } = await corsApp({ origin: '*' }, routes)
  t.match(await star.cors.explain({ url: '/items', origin: APP, credentials: true }), { verdict: 'blocked', reason: 'credentials-not-allowed' })
  t.match(await star.cors.explain({ url: '/items', origin: APP }), { verdict: 'allowed' })
})

t.test('explain() reports a fixed origin that is not the page', async (t) => {
  const { app } = await corsApp({ origin: 'https://only.example' }, routes)
  t.match(await app.cors.explain({ url: '/items', origin: APP }), { verdict: 'blocked', reason: 'origin-not-allowed' })
})

t.test('explain() says when a route leaves its preflights unanswered', async (t) => {
  const { app } = await corsApp(options, (app) => {
    app.put('/manual', { config: { cors: { preflight: false } } }, async () => 'x')
  })
  t.match(await app.cors.explain({ url: '/manual', method: 'PUT', origin: APP }), {
    verdict: 'blocked', reason: 'preflight-not-answered', message: /preflight: false/, preflight: { status: 404 }
  })
})

t.test('a request without Origin is not a CORS request', async (t) => {
  const { app } = await corsApp(options, routes)
  t.match(await app.cors.explain({ url: '/items' }), { verdict: 'not-cors', reason: 'no-origin', response: { headers: { vary: 'Origin' } } })
})

t.test('explain() asks delegators with a request carrying method, URL and headers', async (t) => {
  const seen: unknown[] = []
  const { app } = await corsApp({
    delegator: async (request) => {
      seen.push({ method: request.method, url: request.url, headers: request.headers })
      return { origin: [APP], methods: ['PUT'] }
    }
  }, routes)
  const explanation = await app.cors.explain({ url: '/items/1', method: 'PUT', origin: APP, host: 'api.example', requestHeaders: ['x-a'] })
  t.equal(explanation.verdict, 'allowed')
  t.same(seen[0], {
    method: 'OPTIONS',
    url: '/items/1',
    headers: { origin: APP, host: 'api.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-a' }
  })
  t.same(seen[1], { method: 'PUT', url: '/items/1', headers: { origin: APP, host: 'api.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-a' } })
})

t.test('explain() reports an unplausible origin and a refused preflight origin', async (t) => {
  const { app } = await corsApp(options, routes)
  t.match(await app.cors.explain({ url: '/items', origin: 'https://a.example, https://b.example' }), { verdict: 'blocked', reason: 'invalid-origin' })
  t.match(await app.cors.explain({ url: '/items/1', method: 'PUT', origin: 'https://evil.example' }), {
    verdict: 'blocked', reason: 'origin-not-allowed', preflight: { status: 403, headers: { vary: 'Origin' } }
  })
})
