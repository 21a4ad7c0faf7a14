// Per-route CORS policies in real Chromium, for simple and preflighted requests. A route's
// `config.cors` (false, or options of its own) governs its requests, and a preflight for URL U
// with Access-Control-Request-Method M is decided by the policy of the route serving (M, U).
// The page is http://127.0.0.1:<port>, the API http://localhost:<port>.
import t from 'tap'
import { requireChromium, useBrowser } from './support/browser'
import { accessControlHeaders, startApi } from './support/servers'
import { differsFromReference } from './support/cors-plugin'

const FAILED = 'TypeError: Failed to fetch'
const PARTNER = 'https://partner.example'
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE']
const PREFLIGHT_BY_ROUTE = differsFromReference('preflights are decided by the global policy, ' +
  'the OPTIONS * route serving them has no route config')

const reply = (name: string) => async () => ({ route: name })

if (requireChromium(t)) {
  const browser = useBrowser(t)

  t.test('a route with config.cors false sends no CORS headers, so the page cannot read a simple GET', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin], methods: METHODS },
      routes: (app) => {
        app.get('/open', reply('open'))
        app.get('/private', { config: { cors: false } }, reply('private'))
      }
    })
    const page = await browser.openPage(t)
    t.equal((await page.fetch(api.url('/open'))).body, '{"route":"open"}', 'the global policy admits the page')
    const result = await page.fetch(api.url('/private'))
    t.equal(result.error, FAILED)
    await api.settled()
    const [record] = api.actual('/private')
    t.same(accessControlHeaders(record), {})
    t.equal(record?.handlerRan, true)
  })

  t.test('a preflight for a route with config.cors false is refused and its PUT never runs',
    PREFLIGHT_BY_ROUTE, async (t) => {
      const api = await startApi(t, {
        cors: { origin: [browser.pageOrigin], methods: METHODS },
        routes: (app) => {
          app.put('/open', reply('open'))
          app.put('/private', { config: { cors: false } }, reply('private'))
        }
      })
      const page = await browser.openPage(t)
      t.equal((await page.fetch(api.url('/open'), { method: 'PUT' })).error, null, 'the global policy admits the page')
      const result = await page.fetch(api.url('/private'), { method: 'PUT' })
      t.equal(result.error, FAILED)
      await page.waitForConsole(/blocked by CORS policy/)
      await api.settled()
      t.equal(api.preflights('/private').length, 1)
      t.same(accessControlHeaders(api.preflights('/private')[0]), {})
      t.equal(api.actual('/private').length, 0)
    })

  t.test('a route origin list that omits the page refuses its simple GET under an admitting global policy', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin], methods: METHODS },
      routes: (app) => {
        app.get('/partner', { config: { cors: { origin: [PARTNER] } } }, reply('partner'))
      }
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/partner'))
    t.equal(result.error, FAILED)
    await api.settled()
    t.not(accessControlHeaders(api.actual('/partner')[0])['access-control-allow-origin'], browser.pageOrigin)
  })

  t.test('a route origin list that names the page admits its simple GET under a refusing global policy', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [PARTNER], methods: METHODS },
      routes: (app) => {
        app.get('/closed', reply('closed'))
        app.get('/public', { config: { cors: { origin: [browser.pageOrigin] } } }, reply('public'))
      }
    })
    const page = await browser.openPage(t)
    t.equal((await page.fetch(api.url('/closed'))).error, FAILED, 'the global policy refuses the page')
    const result = await page.fetch(api.url('/public'))
    t.equal(result.error, null)
    t.equal(result.body, '{"route":"public"}')
  })

  t.test('a preflight follows a route origin list that omits the page: its PUT never runs',
    PREFLIGHT_BY_ROUTE, async (t) => {
      const api = await startApi(t, {
        cors: { origin: [browser.pageOrigin], methods: METHODS },
        routes: (app) => {
          app.put('/partner', { config: { cors: { origin: [PARTNER] } } }, reply('partner'))
        }
      })
      const page = await browser.openPage(t)
      const result = await page.fetch(api.url('/partner'), { method: 'PUT' })
      t.equal(result.error, FAILED)
      await api.settled()
      t.equal(api.preflights('/partner').length, 1)
      t.not(accessControlHeaders(api.preflights('/partner')[0])['access-control-allow-origin'], browser.pageOrigin)
      t.equal(api.actual('/partner').length, 0)
    })

  t.test('a preflight follows a route origin list that names the page: its PUT runs under a refusing global policy',
    PREFLIGHT_BY_ROUTE, async (t) => {
      const api = await startApi(t, {
        cors: { origin: [PARTNER], methods: METHODS },
        routes: (app) => {
          app.put('/public', { config: { cors: { origin: [browser.pageOrigin] } } }, reply('public'))
        }
      })
      const page = await browser.openPage(t)
      const result = await page.fetch(api.url('/public'), { method: 'PUT', headers: { 'x-custom': '1' } })
      t.equal(result.error, null)
      t.equal(result.body, '{"route":"public"}')
      await api.settled()
      t.equal(accessControlHeaders(api.preflights('/public')[0])['access-control-allow-origin'], browser.pageOrigin)
      t.equal(api.actual('/public')[0]?.handlerRan, true)
    })

  t.test('on one URL, the preflight method picks the route: PUT admitted where GET has CORS disabled', async (t) => {
    const api = await startApi(t, {
      cors: { origin: [browser.pageOrigin], methods: METHODS },
      routes: (app) => {
        app.get('/items', { config: { cors: false } }, reply('get items'))
        app.put('/items', reply('put items'))
      }
    })
    const page = await browser.openPage(t)
    t.equal((await page.fetch(api.url('/items'))).error, FAILED, 'GET /items has CORS disabled')
    const result = await page.fetch(api.url('/items'), { method: 'PUT' })
    t.equal(result.error, null)
    t.equal(result.body, '{"route":"put items"}')
  })

  t.test('on one URL, the preflight method picks the route: DELETE refused where GET is admitted',
    PREFLIGHT_BY_ROUTE, async (t) => {
      const api = await startApi(t, {
        cors: { origin: [browser.pageOrigin], methods: METHODS },
        routes: (app) => {
          app.get('/things', reply('get things'))
          app.delete('/things', { config: { cors: false } }, reply('delete things'))
        }
      })
      const page = await browser.openPage(t)
      t.equal((await page.fetch(api.url('/things'))).body, '{"route":"get things"}')
      const result = await page.fetch(api.url('/things'), { method: 'DELETE' })
      t.equal(result.error, FAILED)
      await api.settled()
      t.equal(api.preflights('/things').length, 1)
      t.equal(api.actual('/things').filter((r) => r.method === 'DELETE').length, 0)
    })

  t.test('a parametric route\'s own policy decides the preflight for a concrete URL', PREFLIGHT_BY_ROUTE, async (t) => {
    const api = await startApi(t, {
      cors: { origin: [PARTNER], methods: METHODS },
      routes: (app) => {
        app.put('/users/:id', {
          config: { cors: { origin: [browser.pageOrigin], methods: ['PUT'] } }
        }, async (request) => ({ id: (request.params as { id: string }).id }))
      }
    })
    const page = await browser.openPage(t)
    const result = await page.fetch(api.url('/users/42'), { method: 'PUT' })
    t.equal(result.error, null)
    t.equal(result.body, '{"id":"42"}')
    await api.settled()
    t.match(accessControlHeaders(api.preflights('/users/42')[0]), {
      'access-control-allow-origin': browser.pageOrigin,
      'access-control-allow-methods': 'PUT'
    })
  })
}
