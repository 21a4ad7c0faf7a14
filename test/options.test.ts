import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import corsPlugin, { CorsConfigError, CONFIG_ERROR_CODE, problemCodes, type CorsOptions } from '../lib/index'
import { appWithLog, corsApp, get } from './support/app'

/** Registers the plugin with `options` and returns the error boot fails with. */
async function bootError (options: unknown): Promise<CorsConfigError> {
  const app = Fastify()
  try {
    await app.register(corsPlugin, options as CorsOptions)
    await app.ready()
  } catch (error) {
    return error as CorsConfigError
  }
  throw new Error('expected registration to fail')
}

t.test('a valid configuration boots and needs no changes', async (t) => {
  const { app, logs } = await corsApp({
    origin: ['https://app.example.com', 'https://*.example.org', /^https:\/\/(?:a|b)\.example\.net$/],
    methods: ['GET', 'PUT'],
    allowedHeaders: 'content-type, x-request-id',
    exposedHeaders: ['x-total'],
    credentials: true,
    maxAge: 600,
    cacheControl: 'public, max-age=600',
    optionsSuccessStatus: 200,
    deniedPreflightStatus: 404,
    hook: 'preHandler',
    hideOptionsRoute: false,
    logLevel: 'warn',
    strict: true
  })
  t.equal(logs.filter(line => line.level >= 40).length, 0, 'nothing to warn about')
  const response = await app.inject(get('/', 'https://app.example.com'))
  t.equal(response.headers['access-control-allow-origin'], 'https://app.example.com')
})

t.test('every problem is reported together, each with code, path, value and fix', async (t) => {
  const error = await bootError({ origin: 'https://App.example.com/', maxAge: -1, allowCredentials: true, methods: 'GET,TRACE' })
  t.ok(error instanceof CorsConfigError)
  t.equal(error.code, CONFIG_ERROR_CODE)
  t.same(error.problems.map(problem => problem.code).sort(), [
    problemCodes.FORBIDDEN_METHOD,
    problemCodes.INVALID_TYPE,
    problemCodes.NON_CANONICAL_ORIGIN,
    problemCodes.UNKNOWN_OPTION
  ].sort())
  t.match(error.message, /4 problems in the CORS options/)
  t.match(error.message, /\[CORS_GUARD_NON_CANONICAL_ORIGIN\] origin = "https:\/\/App\.example\.com\/": .*write "https:\/\/app\.example\.com"/)
  t.match(error.message, /maxAge = -1: expected a whole number of seconds, 0 or more/)
  t.match(error.message, /allowCredentials = true: unknown option; did you mean "credentials"\?/)
  t.match(error.message, /methods = "TRACE": browsers refuse to send TRACE/)
})

t.test('wrong types and out-of-range values fail with what to write instead', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ origin: 42 }, /origin = 42: expected a string \('\*', an origin/],
    [{ origin: ['https://a.example', 7] }, /origin = \[array of 2\]: expected/],
    [{ methods: 5 }, /methods = 5: expected a comma-separated string or an array of strings/],
    [{ credentials: 'yes' }, /credentials = "yes": expected a boolean/],
    [{ optionsSuccessStatus: 500 }, /optionsSuccessStatus = 500: expected a 2xx status code/],
    [{ deniedPreflightStatus: 200 }, /deniedPreflightStatus = 200: expected a 4xx status code/],
    [{ hook: 'onResponse' }, /hook = "onResponse": expected 'onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization'/],
    [{ logLevel: 'loud' }, /logLevel = "loud": expected 'fatal'/],
    [{ cacheControl: -5 }, /cacheControl = -5: expected a whole number of seconds/],
    [{ delegator: {} }, /delegator = \[object\]: expected a function/],
    [{ methods: (() => () => {})() }, /methods = \[function anonymous\]: expected/],
    [{ allowedHeaders: function listHeaders () {} }, /allowedHeaders = \[function listHeaders\]: expected/],
    [{ maxAge: 'x'.repeat(200) }, /maxAge = "x{117}\.\.\.": expected/]
  ]
  for (const [options, message] of cases) {
    const error = await bootError(options)
    t.equal(error.problems[0]?.code, problemCodes.INVALID_TYPE, JSON.stringify(Object.keys(options)))
    t.match(error.message, message)
  }
})

t.test('unknown keys suggest the option the user meant', async (t) => {
  const cases: Array<[string, string]> = [
    ['allowedOrigins', 'origin'],
    ['allowCredentials', 'credentials'],
    ['exposeHeaders', 'exposedHeaders'],
    ['allow_headers', 'allowedHeaders'],
    ['allowMethods', 'methods'],
    ['max-age', 'maxAge'],
    ['optionSuccessStatus', 'optionsSuccessStatus'],
    ['credential', 'credentials']
  ]
  for (const [key, suggestion] of cases) {
    const error = await bootError({ [key]: true })
    t.match(error.message, `did you mean "${suggestion}"?`, key)
  }
  const far = await bootError({ somethingElseEntirely: 1 })
  t.match(far.message, /somethingElseEntirely = 1: unknown option\.$/m, 'no suggestion when nothing is close')
})

t.test("Fastify's own register options are accepted next to the plugin's", async (t) => {
  const { app } = await corsApp({ origin: 'https://a.example', prefix: '/api', logSerializers: {}, logLevel: 'info' } as CorsOptions)
  const response = await app.inject(get('/', 'https://a.example'))
  t.equal(response.headers['access-control-allow-origin'], 'https://a.example')
})

t.test('configurations that cannot work in a browser fail at boot', async (t) => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ origin: '*', credentials: true }, problemCodes.WILDCARD_WITH_CREDENTIALS, /origin = "\*": browsers ignore '\*' in origin on requests with credentials/],
    [{ origin: ['https://a.example', '*'], credentials: true }, problemCodes.WILDCARD_WITH_CREDENTIALS, /origin\[1\] = "\*"/],
    [{ origin: true, credentials: true }, problemCodes.REFLECT_ALL_WITH_CREDENTIALS, /lets any website read your users' data/],
    [{ exposedHeaders: '*', credentials: true }, problemCodes.WILDCARD_WITH_CREDENTIALS, /exposedHeaders = "\*"/],
    [{ allowedHeaders: ['content-type', '*'], credentials: true }, problemCodes.WILDCARD_WITH_CREDENTIALS, /allowedHeaders = "\*"/],
    [{ methods: '*', credentials: true }, problemCodes.WILDCARD_WITH_CREDENTIALS, /methods = "\*"/],
    [{ origin: 'app.example.com' }, problemCodes.INVALID_ORIGIN, /did you mean "https:\/\/app\.example\.com"\?/],
    [{ origin: '//app.example.com' }, problemCodes.INVALID_ORIGIN, /did you mean "https:\/\/app\.example\.com"\?/],
    [{ origin: 'https://app.example.com/path' }, problemCodes.INVALID_ORIGIN, /an origin has no path, query or fragment; write "https:\/\/app\.example\.com"/],
    [{ origin: 'https://user@app.example.com' }, problemCodes.INVALID_ORIGIN, /no user name or password/],
    [{ origin: 'https://a.example, https://b.example' }, problemCodes.INVALID_ORIGIN, /list them as an array/],
    [{ origin: 'https://' }, problemCodes.INVALID_ORIGIN, /not a valid URL origin/],
    [{ origin: 'foo://' }, problemCodes.INVALID_ORIGIN, /an origin needs a host/],
    [{ origin: 'https://app.example.com/' }, problemCodes.NON_CANONICAL_ORIGIN, /write "https:\/\/app\.example\.com"/],
    [{ origin: 'https://app.example.com:443' }, problemCodes.NON_CANONICAL_ORIGIN, /write "https:\/\/app\.example\.com"/],
    [{ origin: 'wss://live.example.com:443' }, problemCodes.NON_CANONICAL_ORIGIN, /write "wss:\/\/live\.example\.com"/],
    [{ origin: 'HTTPS://APP.example.com' }, problemCodes.NON_CANONICAL_ORIGIN, /write "https:\/\/app\.example\.com"/],
    [{ origin: 'null' }, problemCodes.NULL_ORIGIN, /sandboxed iframes/],
    [{ origin: ['https://*.com'] }, problemCodes.INVALID_ORIGIN_PATTERN, /registrable domain of two labels or more/],
    [{ origin: 'https://api.*.example.com' }, problemCodes.INVALID_ORIGIN_PATTERN, /a wildcard may only stand for leading labels/],
    [{ origin: 'https://a*.example.com:*' }, problemCodes.INVALID_ORIGIN_PATTERN, /a wildcard may only stand for leading labels/],
    [{ origin: /^https:\/\/a\.example$/g }, problemCodes.STATEFUL_REGEXP, /write \/\^https:\\\/\\\/a\\\.example\$\//],
    [{ methods: 'GET,PUT ME' }, problemCodes.INVALID_METHOD, /"PUT ME" is not a valid method/],
    [{ methods: ['delete'] }, problemCodes.INVALID_METHOD, /write DELETE/],
    [{ methods: ['CONNECT'] }, problemCodes.FORBIDDEN_METHOD, /browsers refuse to send CONNECT/],
    [{ allowedHeaders: ['x ok'] }, problemCodes.INVALID_HEADER_NAME, /"x ok" is not a valid header name/],
    [{ exposedHeaders: 'x-a, x:b' }, problemCodes.INVALID_HEADER_NAME, /"x:b" is not a valid header name/],
    [{ cacheControl: 'max-age=5\r\nx: y' }, problemCodes.INVALID_HEADER_VALUE, /control characters or line breaks/]
  ]
  for (const [options, code, message] of cases) {
    const error = await bootError(options)
    t.equal(error.problems[0]?.code, code, JSON.stringify(options, (_key, value) => value instanceof RegExp ? String(value) : value))
    t.match(error.message, message)
  }
})

t.test('strict: false turns cannot-work problems into warnings and boots', async (t) => {
  const { app, logs } = await corsApp({ origin: ['https://a.example/', 'null'], methods: ['GET', 'PUT ME'], strict: false })
  const warnings = logs.filter(line => line.level === 40)
  t.same(warnings.map(line => line.code), [problemCodes.NON_CANONICAL_ORIGIN, problemCodes.NULL_ORIGIN, problemCodes.INVALID_METHOD])
  t.match(warnings[0]?.msg, /fastify-cors-guard: the CORS options: \[CORS_GUARD_NON_CANONICAL_ORIGIN\]/)
  const listed = await app.inject(get('/', 'null'))
  t.equal(listed.headers['access-control-allow-origin'], 'null', "a 'null' listed explicitly is allowed")
  const preflight = await app.inject({ method: 'OPTIONS', url: '/', headers: { origin: 'null', 'access-control-request-method': 'PUT' } })
  t.equal(preflight.headers['access-control-allow-methods'], 'GET', 'the invalid method is dropped from the header')
})

t.test('strict: false keeps type errors and unknown keys fatal', async (t) => {
  const error = await bootError({ strict: false, maxAge: 'soon', origins: [] })
  t.same(error.problems.map(problem => problem.code), [problemCodes.INVALID_TYPE, problemCodes.UNKNOWN_OPTION])
})

t.test('an unanchored RegExp boots with a warning that shows the hole', async (t) => {
  const { logs } = await corsApp({ origin: [/https:\/\/example\.com/, /^https:\/\/a\.example|b\.example$/, /^https:\/\/c\.example\$/] })
  const warnings = logs.filter(line => line.code === problemCodes.UNANCHORED_REGEXP)
  t.same(warnings.map(line => line.path), ['origin[0]', 'origin[1]', 'origin[2]'])
  t.match(warnings[0]?.msg, /https:\/\/example\.com\.evil\.net/)
})

t.test('anchored RegExps with grouped alternatives, classes and escapes raise no warning', async (t) => {
  const { logs } = await corsApp({ origin: [/^https:\/\/(?:a|b)\.example$/, /^https:\/\/[a|b]\.example$/, /^https:\/\/a\.example\|$/] })
  t.equal(logs.filter(line => line.code === problemCodes.UNANCHORED_REGEXP).length, 0)
})

t.test('a stateful RegExp accepted under strict: false answers the same on every request', async (t) => {
  const { app } = await corsApp({ origin: /^https:\/\/a\.example$/g, strict: false })
  for (let i = 0; i < 4; i++) {
    const response = await app.inject(get('/', 'https://a.example'))
    t.equal(response.headers['access-control-allow-origin'], 'https://a.example', `request ${i + 1}`)
  }
})

t.test('the whole-options function form receives the instance', async (t) => {
  const { app } = appWithLog()
  let received: unknown
  await app.register(corsPlugin, (instance: FastifyInstance) => {
    received = instance
    return { origin: 'https://a.example' }
  })
  app.get('/', async () => 'ok')
  const response = await app.inject(get('/', 'https://a.example'))
  t.equal(received, app)
  t.equal(response.headers['access-control-allow-origin'], 'https://a.example')
})

t.test('a promise given as options fails boot instead of meaning origin *', async (t) => {
  const { app } = appWithLog()
  // An async delegator passed as the options: Fastify calls it with the instance, and the plugin gets a promise.
  app.register(corsPlugin, (async () => ({ origin: 'https://a.example' })) as never)
  const error = await app.ready().then(() => undefined, (error: Error) => error)
  t.match(error, { code: CONFIG_ERROR_CODE, message: /\(options\) = \[promise\]: the options are a promise\. .*\{ delegator: async \(request\) => options \}/ })
})

t.test('a route whose config.cors is invalid fails boot, naming the route', async (t) => {
  const { app } = appWithLog()
  await app.register(corsPlugin, { origin: ['https://a.example'], credentials: true })
  t.throws(
    () => app.get('/orders', { config: { cors: { origin: '*', maxAge: -1 } } }, async () => 'x'),
    /2 problems in route GET \/orders config\.cors:\n.*config\.cors\.maxAge = -1.*\n.*config\.cors\.origin = "\*": browsers ignore '\*'/
  )
  t.throws(() => app.get('/bad', { config: { cors: 'yes' as never } }, async () => 'x'),
    /route GET \/bad config\.cors:\n {2}- \[CORS_GUARD_INVALID_TYPE\] config\.cors = "yes": expected false \(CORS off for this route\) or an object/)
  t.throws(() => app.get('/bad2', { config: { cors: { hook: 'onRequest' } as never } }, async () => 'x'),
    /config\.cors\.hook = "onRequest": unknown option/, 'plugin-wide options cannot be set per route')
})

t.test("a route is blamed only for problems its own keys cause, and the plugin's are not repeated", async (t) => {
  const { app, logs } = await corsApp({ origin: ['https://a.example/'], strict: false }, (app) => {
    app.get('/one', { config: { cors: { maxAge: 5 } } }, async () => 'x')
    app.get('/two', { config: { cors: { methods: ['delete'] } } }, async () => 'x')
  })
  const warnings = logs.filter(line => line.level === 40)
  t.same(warnings.map(line => line.path), ['origin[0]', 'config.cors.methods'])
  t.match(warnings[1]?.msg, /route GET \/two config\.cors/)
  await app.close()
})
