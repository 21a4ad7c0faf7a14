'use strict'

// The fastify-cors-guard demo: a playground page on one origin calling an API on another, so
// every call the page makes is cross-origin and goes through the browser's CORS checks.
//
//   npm run demo                                   build, then start on ports 3000 and 3100
//   DEMO_PAGE_PORT=0 DEMO_API_PORT=0 node examples/demo/server.js     any free ports
//
// The page is served from 127.0.0.1 and the API from localhost: different hosts, hence different
// origins (and different sites), whatever the ports.

const { createServer } = require('node:http')
const { readFileSync } = require('node:fs')
const { join } = require('node:path')
const Fastify = require('fastify')

const PAGE_HOST = '127.0.0.1'
const PARTNER_ORIGIN = 'https://partners.example.com'
const PAGE_TEMPLATE = readFileSync(join(__dirname, 'playground.html'), 'utf8')
const CONFIG_SLOT = '__DEMO_CONFIG__'

/**
 * The API's routes, each with the policy it demonstrates and the example calls the playground
 * offers for it. The page renders this table, so a route added here shows up there.
 */
function apiRoutes (pageOrigin) {
  // The same page served over https: one character away from the playground's real origin.
  const nearMiss = pageOrigin.replace(/^http:/, 'https:')
  return [
    {
      method: 'GET',
      url: '/api/public',
      example: '/api/public',
      summary: 'The plugin-wide policy: the playground origin, credentials, X-Total-Count exposed. ' +
        'The reply also sets X-Served-By, which is not exposed.',
      examples: [
        { label: 'Read public data' },
        { label: 'Header not allowed', headers: 'x-debug: 1' }
      ],
      handler: async (_request, reply) => {
        reply.header('x-total-count', '3').header('x-served-by', 'demo-api')
        return { items: ['apples', 'pears', 'plums'] }
      }
    },
    {
      method: 'PUT',
      url: '/api/orders/:id',
      example: '/api/orders/42',
      summary: 'The plugin-wide policy, which lists PUT and the headers Content-Type and X-Request-Id.',
      examples: [{
        label: 'Update an order',
        headers: 'content-type: application/json\nx-request-id: demo-42',
        body: '{ "status": "shipped" }',
        credentials: true
      }],
      handler: async (request) => ({
        id: request.params.id,
        status: request.body?.status ?? 'updated',
        requestId: request.headers['x-request-id'] ?? null
      })
    },
    {
      method: 'DELETE',
      url: '/api/admin',
      example: '/api/admin',
      summary: 'config: { cors: false }. CORS is off for this route: no Access-Control-* headers at all.',
      examples: [{ label: 'Delete as admin' }],
      options: { config: { cors: false } },
      handler: async () => ({ deleted: true })
    },
    {
      method: 'GET',
      url: '/api/partners',
      example: '/api/partners',
      summary: `An origin list of its own, for partners only: ${PARTNER_ORIGIN}.`,
      examples: [{ label: 'Partners only' }],
      options: { config: { cors: { origin: [PARTNER_ORIGIN] } } },
      handler: async () => ({ partners: ['Acme', 'Globex'] })
    },
    {
      method: 'GET',
      url: '/api/private',
      example: '/api/private',
      summary: 'An onRequest auth hook answers 401 without an Authorization header. ' +
        'The route adds Authorization to the allowed headers.',
      examples: [
        { label: 'Private, no token' },
        { label: 'Private, with token', headers: 'authorization: Bearer demo-token' }
      ],
      options: {
        config: { cors: { allowedHeaders: ['authorization', 'content-type', 'x-request-id'] } },
        onRequest: requireAuthorization
      },
      handler: async () => ({ secret: 'only for callers who sent a token' })
    },
    {
      method: 'GET',
      url: '/api/boom',
      example: '/api/boom',
      summary: 'The handler throws. The 500 still carries CORS headers, so the page can read it.',
      examples: [{ label: 'Server error' }],
      handler: async () => { throw new Error('Something broke in the handler') }
    },
    {
      method: 'GET',
      url: '/api/reports',
      example: '/api/reports',
      summary: `An origin list of its own with a typo: ${nearMiss} (https), while the playground is on http.`,
      examples: [{ label: 'Near-miss origin' }],
      options: { config: { cors: { origin: [nearMiss] } } },
      handler: async () => ({ reports: [] })
    }
  ]
}

async function requireAuthorization (request, reply) {
  if (request.headers.authorization === undefined) {
    reply.code(401).header('www-authenticate', 'Bearer realm="demo"')
      .send({ error: 'Unauthorized', message: 'send an Authorization header' })
    return reply
  }
}

/** The query of GET /__cors/explain turned into the input of `fastify.cors.explain()`. */
function explainInput (query) {
  const input = { url: query.url, method: query.method ?? 'GET' }
  if (query.origin !== undefined) input.origin = query.origin
  input.requestHeaders = (query.headers ?? '').split(',').map((name) => name.trim()).filter(Boolean)
  input.credentials = query.credentials === '1' || query.credentials === 'true'
  return input
}

const explainQuerySchema = {
  type: 'object',
  required: ['url'],
  properties: {
    url: { type: 'string', minLength: 1 },
    method: { type: 'string' },
    origin: { type: 'string' },
    headers: { type: 'string' },
    credentials: { type: 'string' }
  }
}

function buildApi ({ plugin, pageOrigin, log }) {
  const app = Fastify({ logger: false, forceCloseConnections: true })

  app.register(plugin, {
    origin: [pageOrigin],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['content-type', 'x-request-id'],
    exposedHeaders: ['x-total-count'],
    credentials: true,
    // No preflight caching, so every Send shows its preflight in the browser's network panel.
    maxAge: 0
  })

  app.register(async (api) => {
    for (const { method, url, options, handler } of apiRoutes(pageOrigin)) {
      api.route({ method, url, ...options, handler })
    }

    // Readable from any origin (and without credentials, which `*` forbids), so the page can
    // always show the plugin's reasoning, including for the calls the browser blocked.
    api.get('/__cors/explain', {
      config: { cors: { origin: '*', credentials: false } },
      schema: { querystring: explainQuerySchema }
    }, async (request) => {
      if (typeof app.cors?.explain !== 'function') return { unavailable: true }
      return await app.cors.explain(explainInput(request.query))
    })
  })

  if (log !== undefined) {
    app.addHook('onResponse', async (request, reply) => {
      if (request.url.startsWith('/__cors/')) return
      const preflightFor = request.headers['access-control-request-method']
      const what = request.method === 'OPTIONS' && preflightFor !== undefined
        ? `OPTIONS ${request.url} (preflight for ${preflightFor})`
        : `${request.method} ${request.url}`
      const from = request.headers.origin === undefined ? '' : ` from ${request.headers.origin}`
      log(`${what}${from} -> ${reply.statusCode}`)
    })
  }
  return app
}

/** What the playground needs: where the API is, and the routes and examples to offer. */
function pageConfig (apiUrl, pageOrigin) {
  const routes = apiRoutes(pageOrigin)
  return {
    apiUrl,
    routes: routes.map(({ method, url, example, summary }) => ({ method, url, example, summary })),
    examples: routes.flatMap((route) => route.examples.map((example) => ({
      method: route.method, path: route.example, headers: '', body: '', credentials: false, ...example
    })))
  }
}

function renderPage (config) {
  // `<` escaped so no value can close the <script> element the JSON sits in.
  const json = JSON.stringify(config).replace(/</g, '\\u003c')
  return PAGE_TEMPLATE.replace(CONFIG_SLOT, () => json)
}

function listen (server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(server.address().port)
    })
  })
}

function closeServer (server) {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

/**
 * Starts the playground page and the API.
 * `host` is the name the API listens on and is reached by; the page is always on 127.0.0.1.
 * `plugin` defaults to the built package (dist/); tests pass the TypeScript source.
 * `log`, when given, receives one line per API request.
 */
async function startDemo ({
  pagePort = 3000,
  apiPort = 3100,
  host = 'localhost',
  plugin = require('../../dist/index.cjs'),
  log
} = {}) {
  let html = '<!doctype html><title>starting</title><p>The demo is starting; reload in a moment.</p>'
  const page = createServer((request, response) => {
    if (request.url === '/' || request.url.startsWith('/?')) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      response.end(html)
    } else {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      response.end('Not found: the playground is at /')
    }
  })
  const pageOrigin = `http://${PAGE_HOST}:${await listen(page, pagePort, PAGE_HOST)}`

  const api = buildApi({ plugin, pageOrigin, log })
  try {
    await api.listen({ port: apiPort, host })
  } catch (error) {
    await closeServer(page)
    await api.close()
    throw error
  }
  const apiUrl = `http://${host}:${api.server.address().port}`
  html = renderPage(pageConfig(apiUrl, pageOrigin))

  return {
    pageUrl: pageOrigin + '/',
    apiUrl,
    close: async () => {
      await Promise.all([closeServer(page), api.close()])
    }
  }
}

module.exports = { startDemo }

// The command line, which test/demo.test.ts runs in a child process, out of coverage's sight.
/* c8 ignore start */
function portFromEnv (name, fallback) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${name} must be a port number from 0 to 65535 (0 picks a free port), not "${raw}"`)
  }
  return port
}

function startupAdvice (error) {
  if (error.code === 'MODULE_NOT_FOUND' && /dist[\\/]index\.cjs/.test(error.message)) {
    return 'dist/index.cjs is missing: run `npm run build` first (`npm run demo` builds, then starts).'
  }
  if (error.code === 'EADDRINUSE') {
    return `port ${error.port} is in use: set DEMO_PAGE_PORT or DEMO_API_PORT to another port (0 picks a free one).`
  }
  return error.message
}

async function main () {
  let demo
  try {
    const pagePort = portFromEnv('DEMO_PAGE_PORT', 3000)
    const apiPort = portFromEnv('DEMO_API_PORT', 3100)
    demo = await startDemo({ pagePort, apiPort, log: (line) => console.log(`  api  ${line}`) })
  } catch (error) {
    console.error(`fastify-cors-guard demo: ${startupAdvice(error)}`)
    process.exitCode = 1
    return
  }
  console.log([
    '',
    'fastify-cors-guard demo',
    '',
    `  Open the playground:  ${demo.pageUrl}`,
    `  API (another origin): ${demo.apiUrl}`,
    '',
    'Press Ctrl+C to stop. API requests are logged below.',
    ''
  ].join('\n'))

  const stop = async (signal) => {
    console.log(`\n${signal}: stopping the demo (press Ctrl+C again to force)`)
    await demo.close()
    console.log('Demo stopped.')
  }
  // `once`: a second signal finds no listener and Node's default handling ends the process.
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (require.main === module) main()
/* c8 ignore stop */
