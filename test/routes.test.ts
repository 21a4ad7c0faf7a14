import t from 'tap'
import type { FastifyInstance } from 'fastify'
import corsPlugin from '../lib/index'
import { appWithLog, corsApp, corsHeaders, get, preflight } from './support/app'

const plugin = { origin: ['https://app.example'], methods: ['GET', 'PUT', 'DELETE'] }

function routes (app: FastifyInstance): void {
  app.get('/public', async () => 'public')
  app.put('/public', async () => 'public')
  app.get('/partners', { config: { cors: { origin: ['https://partner.example'], methods: ['GET', 'PUT'] } } }, async () => 'partners')
  app.put('/partners', { config: { cors: { origin: ['https://partner.example'], methods: ['GET', 'PUT'] } } }, async () => 'partners')
  app.delete('/partners', async () => 'deleted')
  app.get('/internal', { config: { cors: false } }, async () => 'internal')
  app.put('/internal', { config: { cors: false } }, async () => 'internal')
  app.get('/users/me', async () => 'me')
  app.get('/users/:id', { config: { cors: { origin: ['https://admin.example'] } } }, async () => 'user')
}

t.test('a route with its own origins decides its simple requests', async (t) => {
  const { app } = await corsApp(plugin, routes)
  t.equal((await app.inject(get('/partners', 'https://partner.example'))).headers['access-control-allow-origin'], 'https://partner.example')
  t.equal((await app.inject(get('/partners', 'https://app.example'))).headers['access-control-allow-origin'], undefined)
  t.equal((await app.inject(get('/public', 'https://app.example'))).headers['access-control-allow-origin'], 'https://app.example')
})

t.test('a preflight is decided by the policy of the route that serves the requested method and URL', async (t) => {
  const { app } = await corsApp(plugin, routes)
  const partner = await app.inject(preflight('/partners', 'https://partner.example', 'PUT'))
  t.equal(partner.statusCode, 204)
  t.equal(partner.headers['access-control-allow-origin'], 'https://partner.example')
  t.equal(partner.headers['access-control-allow-methods'], 'GET, PUT')
  const outsider = await app.inject(preflight('/partners', 'https://app.example', 'PUT'))
  t.equal(outsider.statusCode, 403, "the plugin's origins do not open a route that has its own")
  const otherMethod = await app.inject(preflight('/partners', 'https://app.example', 'DELETE'))
  t.equal(otherMethod.statusCode, 204, 'DELETE /partners has no route config: the plugin options decide')
  t.equal(otherMethod.headers['access-control-allow-methods'], 'GET, PUT, DELETE')
})

t.test('a route with cors: false gets no successful preflight and no CORS headers', async (t) => {
  const { app } = await corsApp(plugin, routes)
  const response = await app.inject(preflight('/internal', 'https://app.example', 'PUT'))
  t.equal(response.statusCode, 404)
  t.same(corsHeaders(response), {})
  const simple = await app.inject(get('/internal', 'https://app.example'))
  t.equal(simple.statusCode, 200)
  t.same(corsHeaders(simple), {})
  t.equal(simple.headers.vary, undefined)
})

t.test('a cors: false route leaves headers its handler sets alone', async (t) => {
  const { app } = await corsApp(plugin, (app) => {
    app.get('/self', { config: { cors: false } }, async (_request, reply) => {
      reply.header('access-control-allow-origin', '*')
      return 'self-managed'
    })
  })
  t.equal((await app.inject(get('/self', 'https://x.example'))).headers['access-control-allow-origin'], '*')
})

t.test('static routes win over parametric ones, as in Fastify', async (t) => {
  const { app } = await corsApp(plugin, routes)
  t.equal((await app.inject(preflight('/users/me', 'https://app.example', 'GET'))).statusCode, 204)
  t.equal((await app.inject(preflight('/users/42', 'https://app.example', 'GET'))).statusCode, 403)
  t.equal((await app.inject(preflight('/users/42?tab=1', 'https://admin.example', 'GET'))).statusCode, 204, 'the query string is ignored')
})

t.test('where no route serves the method and URL, the plugin options decide and the page sees the real 404', async (t) => {
  const { app } = await corsApp(plugin, routes)
  const response = await app.inject(preflight('/nowhere', 'https://app.example', 'PUT'))
  t.equal(response.statusCode, 204)
  const actual = await app.inject({ method: 'PUT', url: '/nowhere', headers: { origin: 'https://app.example' } })
  t.equal(actual.statusCode, 404)
  t.equal(actual.headers['access-control-allow-origin'], 'https://app.example', 'the 404 is readable by the page')
})

t.test('HEAD requests and their preflights follow the GET route', async (t) => {
  const { app } = await corsApp(plugin, routes)
  t.equal((await app.inject({ method: 'HEAD', url: '/partners', headers: { origin: 'https://partner.example' } })).headers['access-control-allow-origin'], 'https://partner.example')
  t.equal((await app.inject(preflight('/partners', 'https://partner.example', 'HEAD'))).statusCode, 204)
  t.equal((await app.inject(preflight('/internal', 'https://app.example', 'HEAD'))).statusCode, 404)
})

t.test('a route declared for several methods gives its policy to each', async (t) => {
  const { app } = await corsApp(plugin, (app) => {
    app.route({ method: ['PUT', 'PATCH'], url: '/multi', config: { cors: false }, handler: async () => 'x' })
  })
  t.equal((await app.inject(preflight('/multi', 'https://app.example', 'PUT'))).statusCode, 404)
  t.equal((await app.inject(preflight('/multi', 'https://app.example', 'PATCH'))).statusCode, 404)
})

t.test('routes under a prefix are found by their full URL', async (t) => {
  const { app } = await corsApp(plugin, (app) => {
    app.register(async (api) => {
      api.put('/orders', { config: { cors: false } }, async () => 'x')
    }, { prefix: '/api' })
  })
  t.equal((await app.inject(preflight('/api/orders', 'https://app.example', 'PUT'))).statusCode, 404)
})

t.test("a prefix root's trailing-slash twin, which Fastify adds without onRoute, keeps the route's policy", async (t) => {
  for (const [prefixTrailingSlash, twinPolicy] of [['both', 403], ['no-slash', 204], ['slash', 403]] as const) {
    const { app } = await corsApp(plugin, (app) => {
      app.register(async (api) => {
        api.put('/', { prefixTrailingSlash, config: { cors: { origin: ['https://admin.example'] } } }, async () => 'x')
      }, { prefix: '/api' })
    })
    t.equal((await app.inject(preflight('/api/', 'https://app.example', 'PUT'))).statusCode, twinPolicy, `${prefixTrailingSlash}: /api/`)
  }
  const { app } = await corsApp(plugin, (app) => {
    app.register(async (api) => {
      api.put('/', { config: { cors: { origin: ['https://admin.example'] } } }, async () => 'x')
    }, { prefix: '/api' })
  }, { routerOptions: { ignoreTrailingSlash: true } })
  t.equal((await app.inject(preflight('/api/', 'https://app.example', 'PUT'))).statusCode, 403, 'ignoreTrailingSlash: the router matches the twin itself')
})

t.test('router options given as routerOptions are mirrored', async (t) => {
  const { app } = await corsApp(plugin, routes, { routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, caseSensitive: false } })
  for (const url of ['/internal/', '//internal', '/INTERNAL']) {
    t.equal((await app.inject(preflight(url, 'https://app.example', 'PUT'))).statusCode, 404, url)
  }
})

t.test('router options are mirrored: trailing slashes and case', async (t) => {
  const { app } = await corsApp(plugin, routes, { ignoreTrailingSlash: true, caseSensitive: false })
  t.equal((await app.inject(preflight('/internal/', 'https://app.example', 'PUT'))).statusCode, 404)
  t.equal((await app.inject(preflight('/INTERNAL', 'https://app.example', 'PUT'))).statusCode, 404)
})

t.test('host-constrained routes are told apart by the Host of the preflight', async (t) => {
  const { app } = await corsApp(plugin, (app) => {
    app.put('/x', { constraints: { host: 'admin.example' }, config: { cors: false } }, async () => 'admin')
    app.put('/x', { constraints: { host: /^api\./ }, config: { cors: false } }, async () => 'api')
    app.put('/x', { config: { cors: { origin: ['https://other.example'] } } }, async () => 'public')
  })
  const admin = await app.inject({ ...preflight('/x', 'https://other.example', 'PUT'), headers: { ...preflight('/x', 'https://other.example', 'PUT').headers, host: 'admin.example' } })
  t.equal(admin.statusCode, 404)
  const api = await app.inject({ ...preflight('/x', 'https://other.example', 'PUT'), headers: { ...preflight('/x', 'https://other.example', 'PUT').headers, host: 'api.example' } })
  t.equal(api.statusCode, 404, 'RegExp host constraints too')
  t.equal((await app.inject(preflight('/x', 'https://other.example', 'PUT'))).statusCode, 204)
})

t.test('routes with custom constraints fall back to the plugin options for preflights', async (t) => {
  const { app } = appWithLog({
    constraints: {
      tenant: {
        name: 'tenant',
        storage () {
          const map = new Map<unknown, never>()
          return { get: (key: unknown) => map.get(key) ?? null, set: (key: unknown, value: never) => { map.set(key, value) } }
        },
        deriveConstraint: (request: { headers: Record<string, unknown> }) => String(request.headers['x-tenant']),
        validate () {},
        mustMatchWhenDerived: false
      }
    }
  })
  await app.register(corsPlugin, plugin)
  app.put('/t', { constraints: { tenant: 'a' }, config: { cors: false } }, async () => 'a')
  app.put('/t', { constraints: { tenant: 'b' }, config: { cors: false } }, async () => 'b')
  await app.ready()
  t.equal((await app.inject(preflight('/t', 'https://app.example', 'PUT'))).statusCode, 404, 'the first route registered decides')
})

t.test('route overrides merge over the plugin options, once at boot', async (t) => {
  const { app } = await corsApp({ ...plugin, credentials: true, exposedHeaders: ['x-total'] }, (app) => {
    app.get('/cached', { config: { cors: { maxAge: 60 } } }, async () => 'x')
  })
  const response = await app.inject(preflight('/cached', 'https://app.example', 'GET'))
  t.same(corsHeaders(response), {
    'access-control-allow-origin': 'https://app.example',
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'x-total',
    'access-control-allow-methods': 'GET, PUT, DELETE',
    'access-control-max-age': '60'
  })
})

t.test('a route may turn CORS on with origin where the plugin has it off', async (t) => {
  const { app } = await corsApp({ origin: false }, (app) => {
    app.get('/open', { config: { cors: { origin: '*' } } }, async () => 'x')
    app.get('/closed', async () => 'x')
  })
  t.equal((await app.inject(get('/open', 'https://a.example'))).headers['access-control-allow-origin'], '*')
  t.equal((await app.inject(get('/closed', 'https://a.example'))).headers['access-control-allow-origin'], undefined)
  t.equal((await app.inject(preflight('/open', 'https://a.example', 'GET'))).statusCode, 204)
  t.equal((await app.inject(preflight('/closed', 'https://a.example', 'GET'))).statusCode, 404)
})

t.test('routes declared before the plugin finished loading: warned at boot, config.cors honoured from their first request', async (t) => {
  const { app, logs } = appWithLog()
  app.register(corsPlugin, plugin) // not awaited: the routes below reach the router first
  app.get('/late', { config: { cors: { origin: ['https://late.example'] } } }, async () => 'x')
  app.put('/late-off', { config: { cors: false } }, async () => 'x')
  app.get('/late-off', { config: { cors: false } }, async () => 'x')
  app.get('/late-bad', { config: { cors: { origin: 'late.example' } } }, async () => 'x')
  app.get('/late-plain', async () => 'x')
  await app.ready()
  t.match(logs.find(line => line.routes !== undefined), {
    level: 40,
    routes: ['/late (GET, HEAD)', '/late-off (PUT, GET, HEAD)', '/late-bad (GET, HEAD)', '/late-plain (GET, HEAD)'],
    msg: /4 route\(s\) were declared before the plugin finished loading .*Write `await fastify\.register\(cors, options\)` before declaring routes\./
  })
  t.equal((await app.inject(get('/late', 'https://late.example'))).headers['access-control-allow-origin'], 'https://late.example')
  t.equal((await app.inject(get('/late', 'https://app.example'))).headers['access-control-allow-origin'], undefined)
  t.equal((await app.inject(preflight('/late', 'https://app.example', 'GET'))).statusCode, 403, 'once seen, its preflights follow it')
  t.equal((await app.inject(preflight('/late-plain', 'https://app.example', 'GET'))).statusCode, 204)
  t.equal((await app.inject(preflight('/late-off', 'https://app.example', 'PUT'))).statusCode, 204, 'not seen yet: the plugin options (the warned gap)')
  t.same(corsHeaders(await app.inject(get('/late-off', 'https://app.example'))), {})
  t.equal((await app.inject(preflight('/late-off', 'https://app.example', 'GET'))).statusCode, 404)
  const bad = await app.inject(get('/late-bad', 'https://app.example'))
  t.same(corsHeaders(bad), {}, 'an invalid late config turns CORS off for the route')
  t.match(logs.find(line => line.level === 50), { msg: /route GET \/late-bad config\.cors.*CORS is off for this route until its config\.cors is fixed/s })
  await app.inject(get('/late-bad', 'https://app.example'))
  t.equal(logs.filter(line => line.level === 50).length, 1, 'reported once')
})

t.test('the boot warning names the first five early routes', async (t) => {
  const { app, logs } = appWithLog()
  for (let i = 0; i < 7; i++) app.get(`/early${i}`, async () => 'x')
  await app.register(corsPlugin, plugin)
  await app.ready()
  const warning = logs.find(line => line.routes !== undefined)
  t.equal((warning?.routes as string[]).length, 7)
  t.match(warning?.msg, /7 route\(s\) .*\(\/early0 \(GET, HEAD\); .*; \/early4 \(GET, HEAD\); …\)/)
})

t.test('no boot warning when every route comes after the plugin', async (t) => {
  const { logs } = await corsApp(plugin, routes)
  t.equal(logs.filter(line => line.routes !== undefined).length, 0)
})
