// Simple (non-preflighted) cross-origin requests in real Chromium: which origins may read the
// response, credentials, exposed headers, error statuses and the opaque `null` origin.
// The page is http://127.0.0.1:<port>, the API http://localhost:<port>.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { requireChromium, useBrowser } from './support/browser'
import { accessControlHeaders, startApi } from './support/servers'
import { differsFromReference } from './support/cors-plugin'

const FAILED = 'TypeError: Failed to fetch'
const BLOCKED = /has been blocked by CORS policy/

function dataRoute (app: FastifyInstance): void {
  app.get('/data', async () => ({ hello: 'world' }))
}

if (requireChromium(t)) {
  const browser = useBrowser(t)

  t.test('the default options let any page read a simple GET with Access-Control-Allow-Origin *', async (t) => {
    const api = await startApi(t, { cors: {}, routes: dataRoute })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'))
    t.equal(result.error, null)
    t.equal(result.body, '{"hello":"world"}')
    const [record] = await api.settled()
    t.equal(accessControlHeaders(record)['access-control-allow-origin'], '*')
  })

  t.test('an exact origin string admits that page, which reads status and body', async (t) => {
    const api = await startApi(t, { cors: { origin: browser.pageOrigin }, routes: dataRoute })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'), { read: ['content-type'] })
    t.equal(result.error, null)
    t.equal(result.status, 200)
    t.equal(result.body, '{"hello":"world"}')
    t.match(result.headers['content-type'], /^application\/json/)
    const [record] = await api.settled()
    t.equal(record?.origin, browser.pageOrigin, 'the browser sent the page origin')
    t.equal(accessControlHeaders(record)['access-control-allow-origin'], browser.pageOrigin)
  })

  t.test('an exact origin string for another port refuses the page', async (t) => {
    const api = await startApi(t, { cors: { origin: 'http://127.0.0.1:1' }, routes: dataRoute })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'))
    t.equal(result.error, FAILED)
    await page.waitForConsole(BLOCKED)
    const [record] = await api.settled()
    t.not(accessControlHeaders(record)['access-control-allow-origin'], browser.pageOrigin)
  })

  t.test('a list of origins admits the page when it is listed', async (t) => {
    const api = await startApi(t, {
      cors: { origin: ['https://app.example', browser.pageOrigin] },
      routes: dataRoute
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'))
    t.equal(result.error, null)
    t.equal(result.status, 200)
    const [record] = await api.settled()
    t.equal(accessControlHeaders(record)['access-control-allow-origin'], browser.pageOrigin)
  })

  t.test('a list of origins refuses an unlisted page, though the simple GET itself still runs', async (t) => {
    const api = await startApi(t, {
      cors: { origin: ['https://app.example', 'http://127.0.0.1:1'] },
      routes: dataRoute
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'))
    t.equal(result.error, FAILED)
    const message = await page.waitForConsole(BLOCKED)
    t.match(message.text, "No 'Access-Control-Allow-Origin' header is present")
    const [record] = await api.settled()
    t.equal(record?.handlerRan, true, 'CORS guards reading the response, not sending a simple request')
    t.same(accessControlHeaders(record)['access-control-allow-origin'], undefined)
  })

  t.test('the port-wildcard pattern http://127.0.0.1:* admits the page on its ephemeral port',
    differsFromReference('no origin patterns: the string is sent as a literal origin'), async (t) => {
      const api = await startApi(t, { cors: { origin: 'http://127.0.0.1:*' }, routes: dataRoute })
      const page = await browser.openPage(t)
      const result = await page.fetch(api.url('/data'))
      t.equal(result.error, null)
      const [record] = await api.settled()
      t.equal(accessControlHeaders(record)['access-control-allow-origin'], browser.pageOrigin)
    })

  t.test('a port-wildcard pattern for another host refuses the page', async (t) => {
    const api = await startApi(t, { cors: { origin: ['http://127.0.0.2:*'] }, routes: dataRoute })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'))
    t.equal(result.error, FAILED)
    const [record] = await api.settled()
    t.not(accessControlHeaders(record)['access-control-allow-origin'], browser.pageOrigin)
  })

  t.test('an anchored RegExp admits a matching page origin', async (t) => {
    const api = await startApi(t, { cors: { origin: /^http:\/\/127\.0\.0\.1:\d+$/ }, routes: dataRoute })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'))
    t.equal(result.error, null)
    const [record] = await api.settled()
    t.equal(accessControlHeaders(record)['access-control-allow-origin'], browser.pageOrigin)
  })

  t.test('a RegExp that does not match refuses the page', async (t) => {
    const api = await startApi(t, {
      cors: { origin: /^https:\/\/([a-z0-9-]+\.)?example\.com$/ },
      routes: dataRoute
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'))
    t.equal(result.error, FAILED)
    const [record] = await api.settled()
    t.same(accessControlHeaders(record)['access-control-allow-origin'], undefined)
  })

  t.test('an async origin function admits the origins it resolves true for', async (t) => {
    const asked: Array<string | undefined> = []
    const api = await startApi(t, {
      cors: {
        origin: async (origin: string | undefined) => {
          asked.push(origin)
          return origin === browser.pageOrigin
        }
      },
      routes: dataRoute
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'))
    t.equal(result.error, null)
    t.same(asked, [browser.pageOrigin])
    const [record] = await api.settled()
    t.equal(accessControlHeaders(record)['access-control-allow-origin'], browser.pageOrigin)
  })

  t.test('an async origin function that resolves false refuses the page', async (t) => {
    const api = await startApi(t, { cors: { origin: async () => false }, routes: dataRoute })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'))
    t.equal(result.error, FAILED)
    await page.waitForConsole(BLOCKED)
    const [record] = await api.settled()
    t.same(accessControlHeaders(record), {})
  })

  t.test('a credentialed fetch succeeds with credentials: true, which sends Access-Control-Allow-Credentials: true', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin], credentials: true },
      routes: dataRoute
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'), { credentials: 'include' })
    t.equal(result.error, null)
    t.equal(result.body, '{"hello":"world"}')
    const [record] = await api.settled()
    t.match(accessControlHeaders(record), {
      'access-control-allow-origin': browser.pageOrigin,
      'access-control-allow-credentials': 'true'
    })
  })

  t.test('a credentialed fetch fails when the policy does not allow credentials', async (t) => {
    const api = await startApi(t, { cors: { origin: [browser.pageOrigin] }, routes: dataRoute })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'), { credentials: 'include' })
    t.equal(result.error, FAILED)
    const message = await page.waitForConsole(BLOCKED)
    t.match(message.text, 'Access-Control-Allow-Credentials')
  })

  t.test('exposedHeaders makes the listed response headers readable, and only those', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin], exposedHeaders: ['x-total-count'] },
      routes: (app) => {
        app.get('/list', async (_request, reply) => {
          reply.header('x-total-count', '42').header('x-request-id', 'r-1')
          return []
        })
      }
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/list'), { read: ['x-total-count', 'x-request-id', 'content-type'] })
    t.equal(result.error, null)
    t.equal(result.headers['x-total-count'], '42')
    t.equal(result.headers['x-request-id'], null, 'an unexposed header reads as null')
    t.match(result.headers['content-type'], /^application\/json/, 'safelisted headers stay readable')
    t.ok(result.headerNames.includes('x-total-count'))
    t.notOk(result.headerNames.includes('x-request-id'))
  })

  t.test('without exposedHeaders the page reads only safelisted response headers', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin] },
      routes: (app) => {
        app.get('/list', async (_request, reply) => {
          reply.header('x-total-count', '42')
          return []
        })
      }
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/list'), { read: ['x-total-count'] })
    t.equal(result.error, null)
    t.equal(result.headers['x-total-count'], null)
    t.same(result.headerNames.sort(), ['content-length', 'content-type'])
  })

  t.test('a 404 for an unknown path is readable by the page', async (t) => {
    const api = await startApi(t, { cors: { origin: [browser.pageOrigin] }, routes: dataRoute })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/nowhere'))
    t.equal(result.error, null)
    t.equal(result.status, 404)
    t.match(result.body, 'Not Found')
  })

  t.test('a 401 from an auth hook registered after the plugin is readable by the page', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin] },
      routes: (app) => {
        app.addHook('onRequest', async (request, reply) => {
          if (request.headers.authorization !== 'Bearer good') {
            return reply.code(401).send({ error: 'Unauthorized' })
          }
        })
        dataRoute(app)
      }
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/data'))
    t.equal(result.error, null)
    t.equal(result.status, 401)
    t.equal(result.body, '{"error":"Unauthorized"}')
    const [record] = await api.settled()
    t.equal(record?.handlerRan, false)
  })

  t.test('a 500 from a throwing handler is readable by the page', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin] },
      routes: (app) => {
        app.get('/boom', async () => { throw new Error('boom') })
      }
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/boom'))
    t.equal(result.error, null)
    t.equal(result.status, 500)
    t.match(JSON.parse(result.body ?? '{}'), { statusCode: 500, message: 'boom' })
  })

  t.test('an opaque null origin from a sandboxed iframe is refused even when every origin is reflected',
    differsFromReference('origin: true reflects "null"'), async (t) => {
      const api = await startApi(t, { cors: { origin: true }, routes: dataRoute })
      const page = await browser.openPage(t)
      const fromPage = await page.fetch(api.url('/data'))
      t.equal(fromPage.error, null, 'the page itself is admitted')
      const fromSandbox = await page.fetchFromSandbox(api.url('/data'))
      t.equal(fromSandbox.error, FAILED)
      await page.waitForConsole(/from origin 'null' has been blocked by CORS policy/)
      const records = await api.settled()
      t.equal(records[1]?.origin, 'null', 'the sandboxed iframe sent Origin: null')
      t.not(accessControlHeaders(records[1])['access-control-allow-origin'], 'null')
    })
}
