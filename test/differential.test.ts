// Differential tests against @fastify/cors v11: the same options and the same requests go to one
// app with @fastify/cors and one with ours. Where a browser's request is allowed, a drop-in
// replacement must answer exactly as @fastify/cors does, so those tests compare status, every
// CORS header, Cache-Control, Vary and the body.
//
// Where we differ on purpose, the tests named "deliberate difference: …" assert our documented
// behaviour instead (they are the executable list of differences). "unlisted difference: …" tests
// pin differences found here that look deliberate but are not in that list yet. Where ours looks
// like a bug, the plugin was fixed and the last tests keep asserting the @fastify/cors behaviour.
import t from 'tap'
import { Writable } from 'node:stream'
import Fastify, {
  type FastifyInstance,
  type FastifyPluginCallback,
  type FastifyRegisterOptions,
  type FastifyServerOptions,
  type InjectOptions,
  type LightMyRequestResponse,
  type RouteOptions
} from 'fastify'
import fastifyCors from '@fastify/cors'
import corsPlugin, { CorsConfigError, problemCodes, type ProblemCode } from '../lib/index'

type Test = tap.Test
type Options = Record<string, unknown>
/** Options as either plugin takes them: an object, or Fastify's `(instance) => options` form. */
type SharedOptions = Options | ((instance: FastifyInstance) => unknown)
type Which = 'theirs' | 'ours'

const plugins: Record<Which, FastifyPluginCallback<Options>> = {
  theirs: fastifyCors as unknown as FastifyPluginCallback<Options>,
  ours: corsPlugin as unknown as FastifyPluginCallback<Options>
}

const APP = 'https://app.example.com'
const ADMIN = 'https://admin.example.com'
const EVIL = 'https://evil.example'

interface Setup {
  routes?: (app: FastifyInstance) => void
  /** Runs before the plugin is registered (hooks that must come first). */
  before?: (app: FastifyInstance) => void
  server?: FastifyServerOptions
}

function itemRoutes (app: FastifyInstance): void {
  app.get('/items', async () => ({ items: [1, 2] }))
  app.post('/items', async (request) => ({ created: request.body }))
  app.put('/items', async () => ({ replaced: true }))
  app.delete('/items', async () => ({ deleted: true }))
}

async function build (t: Test, which: Which, options: SharedOptions, setup: Setup = {}): Promise<FastifyInstance> {
  const app = Fastify(setup.server)
  t.teardown(() => app.close())
  setup.before?.(app)
  await app.register(plugins[which], options as FastifyRegisterOptions<Options>)
  ;(setup.routes ?? itemRoutes)(app)
  await app.ready()
  return app
}

interface Pair { theirs: FastifyInstance, ours: FastifyInstance }

async function pair (t: Test, options: SharedOptions, setup: Setup = {}): Promise<Pair> {
  return { theirs: await build(t, 'theirs', options, setup), ours: await build(t, 'ours', options, setup) }
}

// --- requests ---------------------------------------------------------------------------------

function get (origin?: string, url = '/items'): InjectOptions {
  return { method: 'GET', url, headers: origin === undefined ? {} : { origin } }
}

function post (origin: string): InjectOptions {
  return { method: 'POST', url: '/items', headers: { origin }, payload: { name: 'pen' } }
}

function preflight (origin: string, method: string, requestHeaders?: string, url = '/items'): InjectOptions {
  const headers: Record<string, string> = { origin, 'access-control-request-method': method }
  if (requestHeaders !== undefined) headers['access-control-request-headers'] = requestHeaders
  return { method: 'OPTIONS', url, headers }
}

/** Two `Origin` lines in one request: Node joins them into one value with a comma. */
function twoOriginLines (): InjectOptions {
  // Node's header typings allow one string per Origin; light-my-request sends an array as repeated lines.
  return { method: 'GET', url: '/items', headers: { origin: [APP, EVIL] } as unknown as InjectOptions['headers'] }
}

/** An OPTIONS request that is not a complete preflight (no Origin and/or no request method). */
function plainOptions (headers: Record<string, string> = {}, url = '/items'): InjectOptions {
  return { method: 'OPTIONS', url, headers }
}

function label (request: InjectOptions): string {
  const text = `${request.method ?? 'GET'} ${String(request.url)} ${JSON.stringify(request.headers ?? {})}`
  return text.length > 160 ? text.slice(0, 157) + '...' : text
}

// --- comparison -------------------------------------------------------------------------------

/** What must agree: status, the CORS headers, Cache-Control, Vary and the body. */
const COMPARED = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-expose-headers',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
  'cache-control',
  'vary'
] as const

function view (response: LightMyRequestResponse): Record<string, unknown> {
  const result: Record<string, unknown> = { status: response.statusCode }
  for (const name of COMPARED) {
    const value = response.headers[name]
    if (value !== undefined) result[name] = value
  }
  result.body = response.body
  return result
}

interface Expected {
  status: number
  /** The Access-Control-Allow-Origin both send, or undefined for none. */
  allowOrigin: string | undefined
}

/**
 * Sends one request to both apps and asserts they answer alike, and what @fastify/cors answers (so
 * two equally broken answers cannot pass).
 */
async function agree (t: Test, apps: Pair, request: InjectOptions, expected: Expected): Promise<LightMyRequestResponse> {
  const [theirs, ours] = await Promise.all([apps.theirs.inject(request), apps.ours.inject(request)])
  const what = label(request)
  t.strictSame(view(ours), view(theirs), `${what}: same status, CORS headers and body as @fastify/cors`)
  t.equal(theirs.statusCode, expected.status, `${what}: status ${expected.status}`)
  t.equal(theirs.headers['access-control-allow-origin'], expected.allowOrigin, `${what}: Access-Control-Allow-Origin`)
  return ours
}

function accessControl (response: LightMyRequestResponse): Record<string, unknown> {
  return Object.fromEntries(Object.entries(response.headers).filter(([name]) => name.startsWith('access-control-')))
}

// --- agreement on allowed paths ---------------------------------------------------------------

t.test('default options: every origin gets *, preflights reflect the requested headers', async (t) => {
  const apps = await pair(t, {})
  await agree(t, apps, get(APP), { status: 200, allowOrigin: '*' })
  await agree(t, apps, post(APP), { status: 200, allowOrigin: '*' })
  await agree(t, apps, get(), { status: 200, allowOrigin: '*' })
  await agree(t, apps, { method: 'HEAD', url: '/items', headers: { origin: APP } }, { status: 200, allowOrigin: '*' })
  await agree(t, apps, get(APP, '/missing'), { status: 404, allowOrigin: '*' })
  await agree(t, apps, preflight(APP, 'PUT'), { status: 204, allowOrigin: '*' })
  await agree(t, apps, preflight(APP, 'PUT', 'x-requested-with,content-type'), { status: 204, allowOrigin: '*' })
  await agree(t, apps, preflight(APP, 'DELETE', 'X-Trace-Id, Content-Type'), { status: 204, allowOrigin: '*' })
  await agree(t, apps, preflight(APP, 'patch'), { status: 204, allowOrigin: '*' })
  await agree(t, apps, preflight(APP, 'GET', undefined, '/missing'), { status: 204, allowOrigin: '*' })
})

t.test("origin '*' answers like the default", async (t) => {
  const apps = await pair(t, { origin: '*' })
  await agree(t, apps, get(APP), { status: 200, allowOrigin: '*' })
  await agree(t, apps, get(), { status: 200, allowOrigin: '*' })
  await agree(t, apps, preflight(APP, 'PUT', 'x-a'), { status: 204, allowOrigin: '*' })
})

t.test('a fixed origin string is sent whatever the request origin, with no Vary: Origin', async (t) => {
  const apps = await pair(t, { origin: APP })
  await agree(t, apps, get(APP), { status: 200, allowOrigin: APP })
  await agree(t, apps, post(APP), { status: 200, allowOrigin: APP })
  await agree(t, apps, get(), { status: 200, allowOrigin: APP })
  // The browser compares and refuses; both plugins send the same fixed value.
  await agree(t, apps, get(EVIL), { status: 200, allowOrigin: APP })
  await agree(t, apps, preflight(APP, 'PUT', 'x-a'), { status: 204, allowOrigin: APP })
})

t.test('an array of origins reflects the listed ones and varies on Origin', async (t) => {
  const apps = await pair(t, { origin: [APP, ADMIN] })
  await agree(t, apps, get(APP), { status: 200, allowOrigin: APP })
  await agree(t, apps, get(ADMIN), { status: 200, allowOrigin: ADMIN })
  await agree(t, apps, post(ADMIN), { status: 200, allowOrigin: ADMIN })
  await agree(t, apps, get(), { status: 200, allowOrigin: undefined })
  await agree(t, apps, get(EVIL), { status: 200, allowOrigin: undefined })
  await agree(t, apps, preflight(ADMIN, 'PUT', 'x-a'), { status: 204, allowOrigin: ADMIN })
  await agree(t, apps, get(APP, '/missing'), { status: 404, allowOrigin: APP })
})

t.test('an anchored RegExp reflects the origins it matches', async (t) => {
  const apps = await pair(t, { origin: /^https:\/\/(?:app|admin)\.example\.com$/ })
  await agree(t, apps, get(APP), { status: 200, allowOrigin: APP })
  await agree(t, apps, get(ADMIN), { status: 200, allowOrigin: ADMIN })
  await agree(t, apps, get('https://app.example.com.evil.example'), { status: 200, allowOrigin: undefined })
  await agree(t, apps, preflight(APP, 'DELETE', 'x-a'), { status: 204, allowOrigin: APP })
})

t.test('origin: true without credentials reflects any real origin', async (t) => {
  const apps = await pair(t, { origin: true })
  await agree(t, apps, get(APP), { status: 200, allowOrigin: APP })
  await agree(t, apps, get('http://localhost:5173'), { status: 200, allowOrigin: 'http://localhost:5173' })
  await agree(t, apps, get(), { status: 200, allowOrigin: undefined })
  await agree(t, apps, preflight(APP, 'PUT', 'x-a'), { status: 204, allowOrigin: APP })
})

t.test('credentials with a list send Allow-Credentials on simple requests and preflights', async (t) => {
  const apps = await pair(t, { origin: [APP], credentials: true })
  const simple = await agree(t, apps, get(APP), { status: 200, allowOrigin: APP })
  t.equal(simple.headers['access-control-allow-credentials'], 'true')
  await agree(t, apps, post(APP), { status: 200, allowOrigin: APP })
  const answer = await agree(t, apps, preflight(APP, 'PUT', 'content-type'), { status: 204, allowOrigin: APP })
  t.equal(answer.headers['access-control-allow-credentials'], 'true')
})

t.test('exposedHeaders as a string or an array are sent as @fastify/cors writes them', async (t) => {
  for (const exposedHeaders of ['x-total, x-page', ['x-total', 'x-page'], 'X-Total']) {
    const apps = await pair(t, { origin: [APP], exposedHeaders })
    const simple = await agree(t, apps, get(APP), { status: 200, allowOrigin: APP })
    t.ok(simple.headers['access-control-expose-headers'], `sent for ${JSON.stringify(exposedHeaders)}`)
    await agree(t, apps, preflight(APP, 'PUT'), { status: 204, allowOrigin: APP })
  }
})

t.test('methods as a string or an array give the same Allow-Methods, also for unlisted methods', async (t) => {
  for (const methods of ['GET,PUT,DELETE', 'GET, PUT, DELETE', ['GET', 'PUT', 'DELETE']]) {
    const apps = await pair(t, { methods })
    const answer = await agree(t, apps, preflight(APP, 'DELETE'), { status: 204, allowOrigin: '*' })
    t.ok(answer.headers['access-control-allow-methods'], `sent for ${JSON.stringify(methods)}`)
    // An unlisted method still gets an ok preflight: the browser names the method in its error.
    await agree(t, apps, preflight(APP, 'PATCH'), { status: 204, allowOrigin: '*' })
    await agree(t, apps, get(APP), { status: 200, allowOrigin: '*' })
  }
})

t.test('allowedHeaders unset reflects the requested headers; set, it is sent as configured', async (t) => {
  const reflect = await pair(t, { origin: [APP] })
  const reflected = await agree(t, reflect, preflight(APP, 'PUT', 'x-a,content-type'), { status: 204, allowOrigin: APP })
  t.equal(reflected.headers['access-control-allow-headers'], 'x-a,content-type')
  await agree(t, reflect, preflight(APP, 'PUT'), { status: 204, allowOrigin: APP })

  for (const allowedHeaders of ['x-a,content-type', ['x-a', 'content-type'], 'X-A, Authorization']) {
    const listed = await pair(t, { origin: [APP], allowedHeaders })
    await agree(t, listed, preflight(APP, 'PUT', 'x-a'), { status: 204, allowOrigin: APP })
    // A header not listed still gets the configured list: the browser names it in its error.
    await agree(t, listed, preflight(APP, 'PUT', 'x-unlisted'), { status: 204, allowOrigin: APP })
    await agree(t, listed, preflight(APP, 'PUT'), { status: 204, allowOrigin: APP })
  }
})

t.test('maxAge is sent on preflights only, 0 included', async (t) => {
  for (const maxAge of [600, 0]) {
    const apps = await pair(t, { maxAge })
    const answer = await agree(t, apps, preflight(APP, 'PUT'), { status: 204, allowOrigin: '*' })
    t.equal(answer.headers['access-control-max-age'], String(maxAge))
    await agree(t, apps, get(APP), { status: 200, allowOrigin: '*' })
  }
})

t.test('cacheControl as seconds or as a header value is sent on preflights only', async (t) => {
  for (const [cacheControl, header] of [[300, 'max-age=300'], [0, 'max-age=0'], ['public, max-age=60', 'public, max-age=60']] as const) {
    const apps = await pair(t, { cacheControl })
    const answer = await agree(t, apps, preflight(APP, 'PUT', 'x-a'), { status: 204, allowOrigin: '*' })
    t.equal(answer.headers['cache-control'], header)
    await agree(t, apps, get(APP), { status: 200, allowOrigin: '*' })
  }
})

t.test('optionsSuccessStatus 200 answers preflights with 200', async (t) => {
  const apps = await pair(t, { origin: [APP], optionsSuccessStatus: 200 })
  await agree(t, apps, preflight(APP, 'PUT', 'x-a'), { status: 200, allowOrigin: APP })
})

t.test('preflightContinue hands the preflight, headers set, to the user OPTIONS route or the catch-all', async (t) => {
  const apps = await pair(t, { origin: [APP], preflightContinue: true }, {
    routes: (app) => {
      itemRoutes(app)
      app.options('/items', async (request) => ({ handledBy: 'route', preflight: request.corsPreflightEnabled }))
    }
  })
  const answer = await agree(t, apps, preflight(APP, 'PUT', 'x-a'), { status: 200, allowOrigin: APP })
  t.same(JSON.parse(answer.body), { handledBy: 'route', preflight: true })
  await agree(t, apps, preflight(APP, 'PUT', 'x-a', '/elsewhere'), { status: 200, allowOrigin: APP })
})

t.test('a preflight to a user OPTIONS route is answered by the plugin, as @fastify/cors does', async (t) => {
  const apps = await pair(t, { origin: [APP] }, {
    routes: (app) => {
      itemRoutes(app)
      app.options('/items', async () => ({ handledBy: 'route' }))
    }
  })
  await agree(t, apps, preflight(APP, 'PUT', 'x-a'), { status: 204, allowOrigin: APP })
})

t.test('strictPreflight true refuses OPTIONS without Origin or request method with 400', async (t) => {
  for (const options of [{}, { strictPreflight: true }]) {
    const apps = await pair(t, options)
    const bare = await agree(t, apps, plainOptions(), { status: 400, allowOrigin: '*' })
    t.equal(bare.body, 'Invalid Preflight Request')
    await agree(t, apps, plainOptions({ origin: APP }), { status: 400, allowOrigin: '*' })
    await agree(t, apps, plainOptions({ 'access-control-request-method': 'PUT' }), { status: 400, allowOrigin: '*' })
  }
})

t.test('strictPreflight false answers OPTIONS without Origin as a preflight', async (t) => {
  const apps = await pair(t, { strictPreflight: false })
  await agree(t, apps, plainOptions(), { status: 204, allowOrigin: '*' })
  await agree(t, apps, plainOptions({ origin: APP }), { status: 204, allowOrigin: '*' })
  await agree(t, apps, plainOptions({ 'access-control-request-method': 'PUT' }), { status: 204, allowOrigin: '*' })
  await agree(t, apps, preflight(APP, 'PUT', 'x-a'), { status: 204, allowOrigin: '*' })
})

t.test('preflight: false leaves OPTIONS to the router, with the simple-request headers', async (t) => {
  const apps = await pair(t, { preflight: false })
  await agree(t, apps, preflight(APP, 'PUT'), { status: 404, allowOrigin: '*' })
  await agree(t, apps, get(APP), { status: 200, allowOrigin: '*' })
})

t.test('every hook stage answers allowed requests and preflights alike', async (t) => {
  for (const hook of ['preHandler', 'preParsing', 'preValidation', 'preSerialization']) {
    const apps = await pair(t, { hook, origin: [APP], credentials: true })
    await agree(t, apps, get(APP), { status: 200, allowOrigin: APP })
    await agree(t, apps, post(APP), { status: 200, allowOrigin: APP })
    await agree(t, apps, preflight(APP, 'PUT', 'content-type'), { status: 204, allowOrigin: APP })
  }
})

t.test('an async origin function and a callback one decide alike, true or false', async (t) => {
  const origins = {
    async: async (origin: string | undefined) => origin === APP,
    callback: (origin: string | undefined, callback: (error: Error | null, allow: boolean) => void) => callback(null, origin === APP)
  }
  for (const [kind, origin] of Object.entries(origins)) {
    t.comment(`${kind} origin function`)
    const apps = await pair(t, { origin })
    await agree(t, apps, get(APP), { status: 200, allowOrigin: APP })
    await agree(t, apps, post(APP), { status: 200, allowOrigin: APP })
    await agree(t, apps, get(EVIL), { status: 200, allowOrigin: undefined })
    await agree(t, apps, get(), { status: 200, allowOrigin: undefined })
    await agree(t, apps, preflight(APP, 'PUT', 'x-a'), { status: 204, allowOrigin: APP })
  }
})

t.test('origin functions may answer an origin string, a list or a RegExp', async (t) => {
  for (const answer of [[APP], /^https:\/\/app\.example\.com$/, true]) {
    const apps = await pair(t, { origin: async () => answer, credentials: true })
    await agree(t, apps, get(APP), { status: 200, allowOrigin: APP })
    await agree(t, apps, preflight(APP, 'PUT', 'x-a'), { status: 204, allowOrigin: APP })
  }
  const fixed = await pair(t, { origin: async () => APP })
  await agree(t, fixed, get(APP), { status: 200, allowOrigin: APP })
})

t.test('a delegator answering by callback or by promise sets the options per request', async (t) => {
  const delegated = { origin: [APP], methods: 'GET,PUT', credentials: true, exposedHeaders: 'x-total' }
  const delegators = {
    callback: (_request: unknown, callback: (error: Error | null, options: Options) => void) => callback(null, delegated),
    promise: async () => delegated
  }
  for (const [kind, delegator] of Object.entries(delegators)) {
    t.comment(`${kind} delegator`)
    const apps = await pair(t, { delegator })
    await agree(t, apps, get(APP), { status: 200, allowOrigin: APP })
    await agree(t, apps, post(APP), { status: 200, allowOrigin: APP })
    await agree(t, apps, preflight(APP, 'PUT', 'x-a'), { status: 204, allowOrigin: APP })
  }
})

t.test("Fastify's options-function form works: (instance) => options, and () => delegator", async (t) => {
  const seen: unknown[] = []
  const options = await pair(t, (instance) => {
    seen.push(typeof instance.register)
    return { origin: [APP], credentials: true, methods: ['GET', 'PUT'] }
  })
  t.same(seen, ['function', 'function'], 'both plugins are given options computed from the instance')
  await agree(t, options, get(APP), { status: 200, allowOrigin: APP })
  await agree(t, options, preflight(APP, 'PUT', 'x-a'), { status: 204, allowOrigin: APP })

  // The @fastify/cors README's way of registering a delegator.
  const delegate = await pair(t, () => (request: { headers: Record<string, unknown> }, callback: (error: Error | null, options: Options) => void) => {
    callback(null, { origin: request.headers.origin === APP ? [APP] : [ADMIN] })
  })
  await agree(t, delegate, get(APP), { status: 200, allowOrigin: APP })
  await agree(t, delegate, preflight(APP, 'PUT', 'x-a'), { status: 204, allowOrigin: APP })
  const promised = await pair(t, () => async () => ({ origin: APP }))
  await agree(t, promised, get(APP), { status: 200, allowOrigin: APP })
})

/** Registers an onRoute hook before the plugin to see how the catch-all OPTIONS route is added. */
function catchAllRoute (found: RouteOptions[]): Setup['before'] {
  return (app) => {
    app.addHook('onRoute', (route) => {
      if (route.method === 'OPTIONS' && route.url === '*') found.push(route)
    })
  }
}

/** `schema.hide` is read by @fastify/swagger; Fastify's own schema type does not declare it. */
function hidden (route: RouteOptions | undefined): unknown {
  return (route?.schema as { hide?: unknown } | undefined)?.hide
}

t.test('hideOptionsRoute sets schema.hide on the catch-all OPTIONS route the same way', async (t) => {
  for (const hideOptionsRoute of [undefined, true, false]) {
    const theirs: RouteOptions[] = []
    const ours: RouteOptions[] = []
    const options = hideOptionsRoute === undefined ? {} : { hideOptionsRoute }
    await build(t, 'theirs', options, { before: catchAllRoute(theirs) })
    await build(t, 'ours', options, { before: catchAllRoute(ours) })
    t.equal(ours.length, 1)
    t.equal(hidden(ours[0]), hidden(theirs[0]), `hideOptionsRoute ${String(hideOptionsRoute)}`)
    t.equal(hidden(ours[0]), hideOptionsRoute ?? true)
  }
})

t.test('logLevel applies to the catch-all OPTIONS route the same way', async (t) => {
  const lines: Record<Which, Array<{ msg?: string }>> = { theirs: [], ours: [] }
  const server = (which: Which): FastifyServerOptions => ({
    logger: {
      level: 'info',
      stream: new Writable({
        write (chunk, _encoding, callback) {
          lines[which].push(JSON.parse(String(chunk)))
          callback()
        }
      })
    }
  })
  const routes: Record<Which, RouteOptions[]> = { theirs: [], ours: [] }
  const apps = {
    theirs: await build(t, 'theirs', { logLevel: 'warn' }, { server: server('theirs'), before: catchAllRoute(routes.theirs) }),
    ours: await build(t, 'ours', { logLevel: 'warn' }, { server: server('ours'), before: catchAllRoute(routes.ours) })
  }
  t.equal(routes.ours[0]?.logLevel, routes.theirs[0]?.logLevel)
  t.equal(routes.ours[0]?.logLevel, 'warn')
  for (const which of ['theirs', 'ours'] as const) lines[which].length = 0
  await agree(t, apps, preflight(APP, 'PUT'), { status: 204, allowOrigin: '*' })
  t.same(lines.ours, [], 'no info lines for the preflight')
  t.equal(lines.ours.length, lines.theirs.length)
  await agree(t, apps, get(APP), { status: 200, allowOrigin: '*' })
  t.equal(lines.ours.length, lines.theirs.length, 'other routes keep the server level')
  t.ok(lines.ours.length > 0)
})

t.test('a 401 from an auth hook that runs after the CORS hook carries the same headers', async (t) => {
  const apps = await pair(t, { origin: [APP], credentials: true }, {
    routes: (app) => {
      app.addHook('onRequest', async (request, reply) => {
        if (request.headers.authorization === undefined) await reply.code(401).send({ error: 'login first' })
      })
      itemRoutes(app)
    }
  })
  await agree(t, apps, get(APP), { status: 401, allowOrigin: APP })
  await agree(t, apps, preflight(APP, 'GET', 'authorization'), { status: 204, allowOrigin: APP })
})

// --- deliberate differences: our documented behaviour -----------------------------------------

async function ours (t: Test, options: SharedOptions, setup: Setup = {}): Promise<FastifyInstance> {
  return build(t, 'ours', options, setup)
}

t.test('deliberate difference: (1) a refused origin gets no Access-Control-* headers, and its preflight a 403 with no body', async (t) => {
  const app = await ours(t, { origin: [APP], credentials: true, exposedHeaders: 'x-total' })
  const simple = await app.inject(get(EVIL))
  t.equal(simple.statusCode, 200, 'the route still answers; the browser hides the response')
  t.same(accessControl(simple), {}, '@fastify/cors still sends Allow-Credentials and Expose-Headers')
  t.equal(simple.headers.vary, 'Origin')

  const refused = await app.inject(preflight(EVIL, 'PUT', 'x-a'))
  t.equal(refused.statusCode, 403, '@fastify/cors answers 204')
  t.equal(refused.body, '')
  t.equal(refused.headers['content-length'], '0')
  t.same(accessControl(refused), {})

  // A request without Origin is not a CORS request: nothing to allow, so nothing is sent either.
  t.same(accessControl(await app.inject(get())), {}, 'no Origin: no Allow-Credentials or Expose-Headers')

  const lenient = await ours(t, { origin: [APP], strictPreflight: false })
  const bare = await lenient.inject(plainOptions())
  t.equal(bare.statusCode, 204)
  t.same(accessControl(bare), {}, 'strictPreflight: false, no Origin: no Allow-Methods either')

  // An origin function that refuses: @fastify/cors lets the preflight fall through to a 404.
  const decided = await ours(t, { origin: async (origin: string) => origin === APP })
  const denied = await decided.inject(preflight(EVIL, 'PUT'))
  t.equal(denied.statusCode, 403)
  t.same(accessControl(denied), {})
})

t.test('deliberate difference: (2) preflights are decided by the policy of the route they announce', async (t) => {
  const PARTNER = 'https://partner.example'
  const app = await ours(t, { origin: [APP] }, {
    routes: (app) => {
      itemRoutes(app)
      app.delete('/private', { config: { cors: false } }, async () => ({ deleted: true }))
      app.put('/partners', { config: { cors: { origin: [PARTNER], methods: ['PUT'] } } }, async () => ({ ok: true }))
    }
  })
  const off = await app.inject(preflight(APP, 'DELETE', undefined, '/private'))
  t.equal(off.statusCode, 404, 'a cors: false route has no preflight (@fastify/cors answers it with the plugin options)')
  t.same(accessControl(off), {})

  const partner = await app.inject(preflight(PARTNER, 'PUT', 'content-type', '/partners'))
  t.equal(partner.statusCode, 204)
  t.equal(partner.headers['access-control-allow-origin'], PARTNER)
  t.equal(partner.headers['access-control-allow-methods'], 'PUT')

  const notPartner = await app.inject(preflight(APP, 'PUT', undefined, '/partners'))
  t.equal(notPartner.statusCode, 403, 'the plugin-level origin does not open a route with its own list')
  t.same(accessControl(notPartner), {})

  t.equal((await app.inject(preflight(APP, 'PUT'))).headers['access-control-allow-origin'], APP, 'other routes keep the plugin policy')
})

t.test("deliberate difference: (3) preflights vary on the request headers when allowedHeaders has '*', and Vary is merged", async (t) => {
  const star = await ours(t, { allowedHeaders: '*' })
  const answer = await star.inject(preflight(APP, 'PUT', 'x-a'))
  t.equal(answer.headers['access-control-allow-headers'], '*')
  t.equal(answer.headers.vary, 'Access-Control-Request-Headers', '@fastify/cors sends no Vary here')

  const app = await ours(t, { origin: [APP] }, {
    routes: (app) => {
      app.get('/encoded', async (_request, reply) => { reply.header('vary', 'Accept-Encoding'); return 'x' })
      app.get('/star', async (_request, reply) => { reply.header('vary', '*'); return 'x' })
    }
  })
  t.equal((await app.inject(get(APP, '/encoded'))).headers.vary, 'Accept-Encoding, Origin',
    "@fastify/cors adds Origin in its hook and the handler's Vary replaces it")
  t.equal((await app.inject(get(EVIL, '/encoded'))).headers.vary, 'Accept-Encoding, Origin')
  t.equal((await app.inject(get(APP, '/star'))).headers.vary, '*')
})

t.test('deliberate difference: (4) the origin function is not called without a plausible Origin; * with credentials denies', async (t) => {
  const calls: Array<string | undefined> = []
  const app = await ours(t, {
    origin: (origin: string | undefined, callback: (error: Error | null, allow: boolean) => void) => {
      calls.push(origin)
      callback(null, true)
    }
  })
  const implausible: Array<[string, InjectOptions]> = [
    ['no Origin', get()],
    ['an Origin over 512 characters', get('https://' + 'a'.repeat(520) + '.example')],
    ['two Origin lines, which Node joins with a comma', twoOriginLines()],
    ['an Origin with a space', get('https://app .example.com')],
    ['an Origin with a tab', get('https://app\t.example.com')]
  ]
  for (const [what, request] of implausible) {
    const response = await app.inject(request)
    t.equal(response.statusCode, 200, what)
    t.same(accessControl(response), {}, `${what}: nothing allowed`)
    t.equal(response.headers.vary, 'Origin', `${what}: still Vary: Origin`)
  }
  t.same(calls, [], 'the function was never called (@fastify/cors calls it, with undefined when there is no Origin)')
  t.equal((await app.inject(get(APP))).headers['access-control-allow-origin'], APP)
  t.same(calls, [APP])

  const wildcard = await ours(t, { origin: async () => '*', credentials: true })
  const denied = await wildcard.inject(get(APP))
  t.same(accessControl(denied), {}, "'*' with credentials: @fastify/cors sends * and Allow-Credentials, which browsers reject")
  t.equal(denied.headers.vary, 'Origin')
})

t.test("deliberate difference: (5) origin: true never reflects 'null' nor implausible origins", async (t) => {
  const app = await ours(t, { origin: true })
  for (const request of [
    get('null'),
    twoOriginLines(),
    get('https://' + 'a'.repeat(520) + '.example'),
    get('https://app .example.com')
  ]) {
    t.same(accessControl(await app.inject(request)), {}, label(request))
  }
  const opaque = await app.inject(preflight('null', 'PUT'))
  t.equal(opaque.statusCode, 403)
  t.same(accessControl(opaque), {})
  t.equal((await app.inject(get(APP))).headers['access-control-allow-origin'], APP)
})

t.test("deliberate difference: (6) '*' in allowedHeaders never covers Authorization", async (t) => {
  const app = await ours(t, { allowedHeaders: '*' })
  const only = await app.inject(preflight(APP, 'GET', 'authorization'))
  t.equal(only.statusCode, 204)
  t.equal(only.headers['access-control-allow-headers'], undefined, '@fastify/cors sends *')
  const mixed = await app.inject(preflight(APP, 'GET', 'x-a,authorization'))
  t.equal(mixed.headers['access-control-allow-headers'], 'x-a', 'the other requested headers are named instead')
  t.equal((await app.inject(preflight(APP, 'GET', 'x-a'))).headers['access-control-allow-headers'], '*')

  const listed = await ours(t, { allowedHeaders: '*, Authorization' })
  t.equal((await listed.inject(preflight(APP, 'GET', 'authorization'))).headers['access-control-allow-headers'], '*, Authorization')
})

t.test('deliberate difference: (7) configurations that cannot work fail at registration', async (t) => {
  const cases: Array<[string, Options, ProblemCode]> = [
    ["'*' with credentials", { origin: '*', credentials: true }, problemCodes.WILDCARD_WITH_CREDENTIALS],
    ['an origin without scheme', { origin: 'app.example.com' }, problemCodes.INVALID_ORIGIN],
    ['a lower-case method', { methods: 'get,put' }, problemCodes.INVALID_METHOD],
    ['origin: true with credentials', { origin: true, credentials: true }, problemCodes.REFLECT_ALL_WITH_CREDENTIALS],
    ['an origin with a trailing slash', { origin: [APP + '/'] }, problemCodes.NON_CANONICAL_ORIGIN],
    ["'null' as an allowed origin", { origin: ['null'] }, problemCodes.NULL_ORIGIN],
    ['a RegExp with the g flag', { origin: /^https:\/\/app\.example\.com$/g }, problemCodes.STATEFUL_REGEXP],
    ["'*' in allowedHeaders with credentials", { origin: [APP], allowedHeaders: '*', credentials: true }, problemCodes.WILDCARD_WITH_CREDENTIALS],
    ["'*' in exposedHeaders with credentials", { origin: [APP], exposedHeaders: '*', credentials: true }, problemCodes.WILDCARD_WITH_CREDENTIALS],
    ['a fractional cacheControl (@fastify/cors drops it silently)', { cacheControl: 1.5 }, problemCodes.INVALID_TYPE],
    ['a misspelt option', { orgin: APP }, problemCodes.UNKNOWN_OPTION]
  ]
  for (const [what, options, code] of cases) {
    await t.resolves(build(t, 'theirs', options), `@fastify/cors accepts ${what}`)
    const error = await build(t, 'ours', options).then(() => undefined, (error: unknown) => error)
    t.type(error, CorsConfigError, what)
    t.ok(error instanceof CorsConfigError && error.problems.some(problem => problem.code === code), `${what}: ${code}`)
  }
})

t.test('deliberate difference: (8) with a delegator, the plugin-level options are defaults under the delegated ones', async (t) => {
  const app = await ours(t, {
    methods: 'GET,PUT',
    exposedHeaders: 'x-total',
    delegator: async () => ({ origin: [APP], credentials: true })
  })
  const answer = await app.inject(preflight(APP, 'PUT'))
  t.equal(answer.headers['access-control-allow-methods'], 'GET,PUT', '@fastify/cors ignores options next to the delegator')
  t.equal(answer.headers['access-control-allow-credentials'], 'true')
  t.equal((await app.inject(get(APP))).headers['access-control-expose-headers'], 'x-total')

  const overridden = await ours(t, { methods: 'GET', delegator: async () => ({ origin: [APP], methods: 'DELETE' }) })
  t.equal((await overridden.inject(preflight(APP, 'DELETE'))).headers['access-control-allow-methods'], 'DELETE',
    'a delegated option wins over the plugin-level one')
})

t.test("deliberate difference: (9) a plain OPTIONS to the user's own OPTIONS route reaches the handler", async (t) => {
  for (const strictPreflight of [true, false]) {
    const app = await ours(t, { origin: [APP], strictPreflight }, {
      routes: (app) => {
        itemRoutes(app)
        app.options('/items', async (request) => ({ handledBy: 'route', preflight: request.corsPreflightEnabled }))
      }
    })
    for (const request of [plainOptions(), plainOptions({ origin: APP })]) {
      const response = await app.inject(request)
      t.equal(response.statusCode, 200, `strictPreflight ${String(strictPreflight)}: @fastify/cors answers ${strictPreflight ? 400 : 204}`)
      t.same(JSON.parse(response.body), { handledBy: 'route', preflight: false })
    }
  }
})

// --- differences found here that look deliberate but are not in the list yet -----------------

t.test('unlisted difference: an origin function or delegator that fails denies the request instead of a 500', async (t) => {
  const failing: Options[] = [
    { origin: () => { throw new Error('boom') } },
    { origin: async () => { throw new Error('boom') } },
    { origin: (_origin: string, callback: (error: Error) => void) => callback(new Error('boom')) },
    { origin: async () => undefined },
    { delegator: (_request: unknown, callback: (error: Error) => void) => callback(new Error('boom')) },
    { delegator: async () => { throw new Error('boom') } },
    { delegator: (_request: unknown, callback: (error: null, options: null) => void) => callback(null, null) }
  ]
  for (const options of failing) {
    const app = await ours(t, options)
    const response = await app.inject(get(APP))
    t.equal(response.statusCode, 200, '@fastify/cors answers 500')
    t.same(accessControl(response), {})
    t.equal(response.headers.vary, 'Origin')
  }
})

t.test('unlisted difference: responses sent before the CORS hook ran still carry the CORS headers', async (t) => {
  const auth = await ours(t, { origin: [APP] }, {
    before: (app) => {
      app.addHook('onRequest', async (_request, reply) => { await reply.code(401).send({ error: 'login first' }) })
    }
  })
  const refused = await auth.inject(get(APP))
  t.equal(refused.statusCode, 401)
  t.equal(refused.headers['access-control-allow-origin'], APP, '@fastify/cors sends none: its hook never ran')

  const validated = await ours(t, { origin: [APP], hook: 'preHandler' }, {
    routes: (app) => {
      app.post('/items', { schema: { body: { type: 'object', required: ['name'] } } }, async () => 'ok')
    }
  })
  const invalid = await validated.inject({ method: 'POST', url: '/items', headers: { origin: APP }, payload: {} })
  t.equal(invalid.statusCode, 400)
  t.equal(invalid.headers['access-control-allow-origin'], APP, 'a validation error before preHandler: @fastify/cors sends none')
})

t.test('unlisted difference: a malformed or oversized Access-Control-Request-Headers is not reflected', async (t) => {
  const app = await ours(t, {})
  for (const requested of ['x a', 'x-a;y', 'x-a,'.repeat(1100)]) {
    const response = await app.inject(preflight(APP, 'PUT', requested))
    t.equal(response.statusCode, 204)
    t.equal(response.headers['access-control-allow-origin'], '*')
    t.equal(response.headers['access-control-allow-headers'], undefined, `${requested.slice(0, 20)}: @fastify/cors echoes it`)
  }
})

t.test("unlisted difference: an origin string with '*' is a wildcard pattern, not a literal header value", async (t) => {
  const app = await ours(t, { origin: 'https://*.example.com' })
  const response = await app.inject(get(APP))
  t.equal(response.headers['access-control-allow-origin'], APP, "@fastify/cors sends 'https://*.example.com', which no browser accepts")
  t.equal(response.headers.vary, 'Origin')
  t.same(accessControl(await app.inject(get('https://example.com'))), {})
})

// --- differences once found here and fixed in the plugin: kept as agreement tests ----------------

t.test('Access-Control-* headers a handler sets itself survive on allowed responses', async (t) => {
  const exposed = await pair(t, { origin: [APP], exposedHeaders: 'x-total' }, {
    routes: (app) => {
      app.get('/items', async (_request, reply) => { reply.header('access-control-expose-headers', 'x-request-id'); return 'x' })
    }
  })
  await agree(t, exposed, get(APP), { status: 200, allowOrigin: APP })

  const origin = await pair(t, { origin: '*' }, {
    routes: (app) => {
      app.get('/items', async (_request, reply) => { reply.header('access-control-allow-origin', APP); return 'x' })
    }
  })
  await agree(t, origin, get(APP), { status: 200, allowOrigin: APP })
})

t.test('the handler sees the CORS headers already set on the reply', async (t) => {
  const apps = await pair(t, { origin: [APP] }, {
    routes: (app) => {
      app.get('/items', async (_request, reply) => ({ seen: reply.getHeader('access-control-allow-origin') ?? null }))
    }
  })
  await agree(t, apps, get(APP), { status: 200, allowOrigin: APP })
})

t.test('a delegator that turns CORS off for a request still sends Vary: Origin', async (t) => {
  const apps = await pair(t, {
    delegator: (request: { headers: Record<string, unknown> }, callback: (error: null, options: Options) => void) => {
      callback(null, { origin: request.headers.origin === APP })
    }
  })
  await agree(t, apps, get(APP), { status: 200, allowOrigin: APP })
  await agree(t, apps, get(EVIL), { status: 200, allowOrigin: undefined })
  await agree(t, apps, get(), { status: 200, allowOrigin: undefined })
})

t.test('origin: false leaves plain OPTIONS requests to the router', async (t) => {
  const apps = await pair(t, { origin: false })
  await agree(t, apps, plainOptions(), { status: 404, allowOrigin: undefined })
  await agree(t, apps, plainOptions({ origin: APP }), { status: 404, allowOrigin: undefined })
  await agree(t, apps, preflight(APP, 'PUT'), { status: 404, allowOrigin: undefined })
  const delegated = await pair(t, { delegator: async () => ({ origin: false }) })
  await agree(t, delegated, plainOptions(), { status: 404, allowOrigin: undefined })
})

t.test('strictPreflight returned by a delegator applies to plain OPTIONS requests', async (t) => {
  const apps = await pair(t, { delegator: async () => ({ origin: '*', strictPreflight: false }) })
  await agree(t, apps, plainOptions(), { status: 204, allowOrigin: '*' })
})

t.test("unlisted difference: with hook 'preSerialization' a plain OPTIONS (no CORS request) gets the router's 404", async (t) => {
  // The catch-all route's handler runs before a preSerialization hook; @fastify/cors then answers
  // the 404 payload's serialization with 400. Ours leaves that non-CORS request to the router.
  const ours = await build(t, 'ours', { hook: 'preSerialization' })
  const response = await ours.inject(plainOptions())
  t.equal(response.statusCode, 404)
})
