// Preflighted requests in real Chromium: methods and request headers allowed and refused, the
// console message that names the culprit, a refused origin, Max-Age caching (counted on the
// server), credentials, and a preflight answered ahead of an auth hook.
// The page is http://127.0.0.1:<port>, the API http://localhost:<port>.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { requireChromium, useBrowser } from './support/browser'
import { accessControlHeaders, startApi } from './support/servers'
import { differsFromReference } from './support/cors-plugin'

const FAILED = 'TypeError: Failed to fetch'

function itemRoutes (app: FastifyInstance): void {
  app.get('/item', async () => ({ method: 'GET' }))
  app.post('/item', async () => ({ method: 'POST' }))
  app.put('/item', async () => ({ method: 'PUT' }))
}

if (requireChromium(t)) {
  const browser = useBrowser(t)

  t.test('a PUT listed in methods is preflighted, then sent and read', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin], methods: ['GET', 'HEAD', 'POST', 'PUT'] },
      routes: itemRoutes
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/item'), { method: 'PUT' })
    t.equal(result.error, null)
    t.equal(result.body, '{"method":"PUT"}')
    await api.settled()
    const [preflight] = api.preflights('/item')
    t.equal(api.preflights('/item').length, 1)
    t.equal(preflight?.requestMethod, 'PUT')
    t.equal(preflight?.status, 204)
    t.match(accessControlHeaders(preflight), {
      'access-control-allow-origin': browser.pageOrigin,
      'access-control-allow-methods': /\bPUT\b/
    })
    t.equal(api.actual('/item').length, 1)
    t.equal(api.actual('/item')[0]?.handlerRan, true)
  })

  t.test('a PUT missing from methods is refused: the console names the method and the PUT is never sent', async (t) => {
    const api = await startApi(t, { cors: { origin: [browser.pageOrigin] }, routes: itemRoutes })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/item'), { method: 'PUT' })
    t.equal(result.error, FAILED)
    const message = await page.waitForConsole(/blocked by CORS policy/)
    t.match(message.text, 'Method PUT is not allowed by Access-Control-Allow-Methods in preflight response')
    await api.settled()
    const [preflight] = api.preflights('/item')
    t.equal(preflight?.status, 204, 'the origin is admitted, so the preflight itself is ok')
    t.match(accessControlHeaders(preflight), {
      'access-control-allow-origin': browser.pageOrigin,
      'access-control-allow-methods': 'GET,HEAD,POST'
    })
    t.equal(api.actual('/item').length, 0)
  })

  t.test('a request header listed in allowedHeaders is allowed', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin], allowedHeaders: ['content-type', 'x-custom'] },
      routes: itemRoutes
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/item'), { method: 'POST', headers: { 'x-custom': '1' } })
    t.equal(result.error, null)
    t.equal(result.body, '{"method":"POST"}')
    await api.settled()
    t.equal(api.preflights('/item')[0]?.requestHeaders, 'x-custom')
    t.equal(api.actual('/item').length, 1)
  })

  t.test('a request header missing from allowedHeaders is refused: the console names the header', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin], allowedHeaders: ['content-type'] },
      routes: itemRoutes
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/item'), { method: 'POST', headers: { 'x-custom': '1' } })
    t.equal(result.error, FAILED)
    const message = await page.waitForConsole(/blocked by CORS policy/)
    t.match(message.text, 'Request header field x-custom is not allowed by Access-Control-Allow-Headers in preflight response')
    await api.settled()
    t.match(accessControlHeaders(api.preflights('/item')[0]), {
      'access-control-allow-origin': browser.pageOrigin,
      'access-control-allow-headers': 'content-type'
    })
    t.equal(api.actual('/item').length, 0)
  })

  t.test('without allowedHeaders the requested headers are allowed', async (t) => {
    const api = await startApi(t, { cors: { origin: [browser.pageOrigin] }, routes: itemRoutes })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/item'), { method: 'POST', headers: { 'x-custom': '1', 'x-other': '2' } })
    t.equal(result.error, null)
    await api.settled()
    t.equal(api.preflights('/item')[0]?.requestHeaders, 'x-custom,x-other', 'Chromium sends them lower-case and sorted')
    t.equal(api.actual('/item').length, 1)
  })

  t.test('a refused origin gets a 403 preflight without CORS headers, and the PUT is never sent', async (t) => {
    const api = await startApi(t, {
      cors: { origin: ['http://127.0.0.1:1'], methods: ['GET', 'PUT'] },
      routes: itemRoutes
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/item'), { method: 'PUT' })
    t.equal(result.error, FAILED)
    await page.waitForConsole(/blocked by CORS policy/)
    await api.settled()
    const [preflight] = api.preflights('/item')
    const ours = differsFromReference('a refused preflight is a 204 with Access-Control-Allow-Methods')
    t.equal(preflight?.status, 403, 'the preflight is refused with 403', ours)
    t.same(accessControlHeaders(preflight), {}, 'no CORS headers', ours)
    t.equal(api.actual('/item').length, 0)
  })

  t.test('maxAge caches the preflight: a second PUT sends no preflight', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin], methods: ['GET', 'PUT'], maxAge: 600 },
      routes: itemRoutes
    })
    const page = await browser.openPage(t)
    t.equal((await page.fetch(api.url('/item'), { method: 'PUT' })).error, null)
    t.equal((await page.fetch(api.url('/item'), { method: 'PUT' })).error, null)
    await api.settled()
    t.equal(api.preflights('/item').length, 1)
    t.equal(api.preflights('/item')[0]?.responseHeaders['access-control-max-age'], '600')
    t.equal(api.actual('/item').length, 2)
  })

  t.test('maxAge 0 disables the preflight cache: every PUT is preflighted', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin], methods: ['GET', 'PUT'], maxAge: 0 },
      routes: itemRoutes
    })
    const page = await browser.openPage(t)
    t.equal((await page.fetch(api.url('/item'), { method: 'PUT' })).error, null)
    t.equal((await page.fetch(api.url('/item'), { method: 'PUT' })).error, null)
    await api.settled()
    t.equal(api.preflights('/item').length, 2)
    t.equal(api.actual('/item').length, 2)
  })

  t.test('a credentialed PUT with a custom header succeeds with credentials: true', async (t) => {
    const api = await startApi(t, {
      cors: {
        origin: [browser.pageOrigin],
        credentials: true,
        methods: ['GET', 'PUT'],
        allowedHeaders: ['x-custom']
      },
      routes: itemRoutes
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/item'), {
      method: 'PUT',
      credentials: 'include',
      headers: { 'x-custom': '1' }
    })
    t.equal(result.error, null)
    t.equal(result.body, '{"method":"PUT"}')
    await api.settled()
    t.match(accessControlHeaders(api.preflights('/item')[0]), {
      'access-control-allow-origin': browser.pageOrigin,
      'access-control-allow-credentials': 'true'
    })
  })

  t.test('a credentialed PUT fails when the preflight does not allow credentials', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin], methods: ['GET', 'PUT'] },
      routes: itemRoutes
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/item'), { method: 'PUT', credentials: 'include' })
    t.equal(result.error, FAILED)
    const message = await page.waitForConsole(/blocked by CORS policy/)
    t.match(message.text, 'Access-Control-Allow-Credentials')
    await api.settled()
    t.equal(api.actual('/item').length, 0)
  })

  t.test('the preflight is answered ahead of an auth hook registered after the plugin, and the 401 is readable', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin], methods: ['GET', 'PUT'], allowedHeaders: ['authorization'] },
      routes: (app) => {
        app.addHook('onRequest', async (request, reply) => {
          if (request.headers.authorization !== 'Bearer good') {
            return reply.code(401).send({ error: 'Unauthorized' })
          }
        })
        itemRoutes(app)
      }
    })
    const page = await browser.openPage(t)
    const refused = await page.fetch(api.url('/item'), { method: 'PUT', headers: { authorization: 'Bearer bad' } })
    t.equal(refused.error, null)
    t.equal(refused.status, 401)
    t.equal(refused.body, '{"error":"Unauthorized"}')
    const admitted = await page.fetch(api.url('/item'), { method: 'PUT', headers: { authorization: 'Bearer good' } })
    t.equal(admitted.status, 200)
    await api.settled()
    t.equal(api.preflights('/item')[0]?.status, 204, 'the preflight carries no Authorization and still passes')
    t.same(api.actual('/item').map((r) => r.status), [401, 200])
  })
}
