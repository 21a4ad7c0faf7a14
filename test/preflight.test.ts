import t from 'tap'
import { corsApp, corsHeaders, get, preflight } from './support/app'
import { MAX_REQUEST_HEADERS_LENGTH, parseRequestedHeaders } from '../lib/header-list'
import { compilePolicy } from '../lib/policy'
import { decidePreflight, REMEMBERED_DECISIONS, REMEMBERED_PREFLIGHTS } from '../lib/preflight'

const api = { origin: ['https://app.example'], methods: ['GET', 'PUT', 'PATCH'], allowedHeaders: ['content-type', 'x-request-id'] }

t.test('an allowed preflight is answered in the hook with 204, Content-Length 0 and the policy headers', async (t) => {
  let handlerRan = false
  const { app } = await corsApp({ ...api, maxAge: 600 }, (app) => {
    app.put('/items', async () => { handlerRan = true; return 'x' })
  })
  const response = await app.inject(preflight('/items', 'https://app.example', 'PUT', 'content-type,x-request-id'))
  t.equal(response.statusCode, 204)
  t.equal(response.headers['content-length'], '0')
  t.equal(response.body, '')
  t.same(corsHeaders(response), {
    'access-control-allow-origin': 'https://app.example',
    'access-control-allow-methods': 'GET, PUT, PATCH',
    'access-control-allow-headers': 'content-type, x-request-id',
    'access-control-max-age': '600'
  })
  t.equal(response.headers.vary, 'Origin')
  t.notOk(handlerRan, 'the route handler never runs for a preflight')
})

t.test('a preflight is answered before an auth hook registered after the plugin', async (t) => {
  const { app } = await corsApp(api, (app) => {
    app.addHook('onRequest', async (_request, reply) => reply.code(401).send({ error: 'no token' }))
    app.put('/items', async () => 'x')
  })
  const response = await app.inject(preflight('/items', 'https://app.example', 'PUT'))
  t.equal(response.statusCode, 204)
})

t.test('a refused origin gets the refusal status, no CORS headers and an empty body', async (t) => {
  const { app } = await corsApp(api)
  const response = await app.inject(preflight('/', 'https://evil.example', 'PUT', 'x-request-id'))
  t.equal(response.statusCode, 403)
  t.equal(response.body, '')
  t.same(corsHeaders(response), {})
  t.equal(response.headers.vary, 'Origin')
})

t.test('deniedPreflightStatus sets the refusal status', async (t) => {
  const { app } = await corsApp({ ...api, deniedPreflightStatus: 404 })
  t.equal((await app.inject(preflight('/', 'https://evil.example', 'PUT'))).statusCode, 404)
})

t.test('a refused method is answered so that the browser names it, listing only allowed methods', async (t) => {
  const { app } = await corsApp(api)
  for (const method of ['DELETE', 'patch', 'put']) {
    const response = await app.inject(preflight('/', 'https://app.example', method))
    t.equal(response.statusCode, 204, method)
    t.equal(response.headers['access-control-allow-origin'], 'https://app.example')
    t.equal(response.headers['access-control-allow-methods'], 'GET, PUT, PATCH', 'methods are compared case-sensitively, as browsers do')
  }
})

t.test('the CORS-safelisted methods pass even when not listed', async (t) => {
  const { app } = await corsApp({ origin: '*', methods: ['PUT'] })
  for (const method of ['GET', 'HEAD', 'POST']) {
    const response = await app.inject(preflight('/', 'https://a.example', method))
    t.equal(response.headers['access-control-allow-origin'], '*', method)
  }
})

t.test("methods: '*' allows any method without credentials", async (t) => {
  const { app } = await corsApp({ origin: '*', methods: '*' })
  const response = await app.inject(preflight('/', 'https://a.example', 'DELETE'))
  t.equal(response.headers['access-control-allow-methods'], '*')
})

t.test('a refused header is answered so that the browser names it, listing only allowed headers', async (t) => {
  const { app } = await corsApp(api)
  const response = await app.inject(preflight('/', 'https://app.example', 'PUT', 'content-type,x-secret'))
  t.equal(response.statusCode, 204)
  t.equal(response.headers['access-control-allow-headers'], 'content-type, x-request-id')
})

t.test('header names are compared case-insensitively', async (t) => {
  const { app } = await corsApp({ ...api, allowedHeaders: 'Content-Type, X-Request-Id' })
  const response = await app.inject(preflight('/', 'https://app.example', 'PUT', 'content-type, x-request-id'))
  t.equal(response.headers['access-control-allow-headers'], 'Content-Type, X-Request-Id')
})

t.test('without allowedHeaders the requested headers are reflected, and the answer varies on them', async (t) => {
  const { app } = await corsApp({ origin: ['https://app.example'] })
  const response = await app.inject(preflight('/', 'https://app.example', 'POST', 'x-a, x-b'))
  t.equal(response.headers['access-control-allow-headers'], 'x-a, x-b')
  t.equal(response.headers.vary, 'Origin, Access-Control-Request-Headers')
  const none = await app.inject(preflight('/', 'https://app.example', 'POST'))
  t.equal(none.headers['access-control-allow-headers'], undefined)
})

t.test('a malformed or oversized header list is never reflected', async (t) => {
  const { app } = await corsApp({ origin: '*' })
  for (const value of ['x-a, x b', 'x-a;x-b', 'x-' + 'a'.repeat(MAX_REQUEST_HEADERS_LENGTH)]) {
    const response = await app.inject(preflight('/', 'https://a.example', 'POST', value))
    t.equal(response.statusCode, 204)
    t.equal(response.headers['access-control-allow-headers'], undefined, value.slice(0, 20))
  }
})

t.test("'*' in allowedHeaders covers every header but Authorization", async (t) => {
  const { app } = await corsApp({ origin: '*', allowedHeaders: '*' })
  const plain = await app.inject(preflight('/', 'https://a.example', 'POST', 'x-a'))
  t.equal(plain.headers['access-control-allow-headers'], '*')
  t.equal(plain.headers.vary, 'Access-Control-Request-Headers')
  const withAuth = await app.inject(preflight('/', 'https://a.example', 'POST', 'authorization,x-a'))
  t.equal(withAuth.headers['access-control-allow-headers'], 'x-a', 'the other headers are named, Authorization is left out')
  const onlyAuth = await app.inject(preflight('/', 'https://a.example', 'POST', 'authorization'))
  t.equal(onlyAuth.headers['access-control-allow-headers'], undefined)
})

t.test('Authorization listed next to * is allowed', async (t) => {
  const { app } = await corsApp({ origin: '*', allowedHeaders: ['*', 'Authorization'] })
  const response = await app.inject(preflight('/', 'https://a.example', 'POST', 'authorization,x-a'))
  t.equal(response.headers['access-control-allow-headers'], '*, Authorization')
})

t.test("with credentials, '*' in allowedHeaders is a literal name (strict: false)", async (t) => {
  const { app } = await corsApp({ origin: ['https://a.example'], credentials: true, allowedHeaders: ['*'], strict: false })
  const response = await app.inject(preflight('/', 'https://a.example', 'POST', 'x-a'))
  t.equal(response.headers['access-control-allow-headers'], '*')
  t.equal(response.headers.vary, 'Origin')
})

t.test('optionsSuccessStatus, cacheControl and credentials shape the success answer', async (t) => {
  const { app } = await corsApp({ ...api, optionsSuccessStatus: 200, cacheControl: 600, credentials: true, exposedHeaders: 'x-total' })
  const response = await app.inject(preflight('/', 'https://app.example', 'PUT'))
  t.equal(response.statusCode, 200)
  t.equal(response.headers['cache-control'], 'max-age=600')
  t.equal(response.headers['access-control-allow-credentials'], 'true')
  t.equal(response.headers['access-control-expose-headers'], 'x-total')
  const { app: literal } = await corsApp({ cacheControl: 'public, max-age=60' })
  t.equal((await literal.inject(preflight('/', 'https://a.example', 'GET'))).headers['cache-control'], 'public, max-age=60')
})

t.test('maxAge: 0 is sent, to disable preflight caching', async (t) => {
  const { app } = await corsApp({ maxAge: 0 })
  t.equal((await app.inject(preflight('/', 'https://a.example', 'GET'))).headers['access-control-max-age'], '0')
})

t.test('strictPreflight answers an OPTIONS without Origin or request method with 400 on the catch-all', async (t) => {
  const { app } = await corsApp(api)
  const noMethod = await app.inject({ method: 'OPTIONS', url: '/x', headers: { origin: 'https://app.example' } })
  t.equal(noMethod.statusCode, 400)
  t.equal(noMethod.body, 'Invalid Preflight Request')
  const noOrigin = await app.inject({ method: 'OPTIONS', url: '/x', headers: { 'access-control-request-method': 'PUT' } })
  t.equal(noOrigin.statusCode, 400)
})

t.test('strictPreflight: false answers an incomplete preflight as far as it can', async (t) => {
  const { app } = await corsApp({ ...api, strictPreflight: false })
  const noMethod = await app.inject({ method: 'OPTIONS', url: '/x', headers: { origin: 'https://app.example' } })
  t.equal(noMethod.statusCode, 204)
  t.equal(noMethod.headers['access-control-allow-origin'], 'https://app.example')
  const noOrigin = await app.inject({ method: 'OPTIONS', url: '/x' })
  t.equal(noOrigin.statusCode, 204, 'without Origin nothing is refused')
  t.same(corsHeaders(noOrigin), {})
})

t.test("a plain OPTIONS to the user's own OPTIONS route reaches their handler", async (t) => {
  const { app } = await corsApp(api, (app) => {
    app.options('/mine', async () => ({ mine: true }))
    app.put('/mine', async () => 'x')
  })
  const plain = await app.inject({ method: 'OPTIONS', url: '/mine' })
  t.equal(plain.statusCode, 200)
  t.same(plain.json(), { mine: true })
  const real = await app.inject(preflight('/mine', 'https://app.example', 'PUT'))
  t.equal(real.statusCode, 204, 'a real preflight is still answered by the plugin')
})

t.test('preflightContinue hands an allowed preflight to the route with the headers set', async (t) => {
  const { app } = await corsApp({ ...api, preflightContinue: true }, (app) => {
    app.options('/mine', async (request) => ({ continued: request.corsPreflightEnabled }))
  })
  const own = await app.inject(preflight('/mine', 'https://app.example', 'GET'))
  t.same(own.json(), { continued: true })
  t.equal(own.headers['access-control-allow-methods'], 'GET, PUT, PATCH')
  const catchAll = await app.inject(preflight('/other', 'https://app.example', 'GET'))
  t.equal(catchAll.statusCode, 200)
  t.equal(catchAll.headers['access-control-allow-origin'], 'https://app.example')
  const refused = await app.inject(preflight('/other', 'https://evil.example', 'GET'))
  t.equal(refused.statusCode, 403, 'a refused origin is not handed on')
})

t.test('preflight: false leaves OPTIONS requests to the routes', async (t) => {
  const { app } = await corsApp({ preflight: false })
  const response = await app.inject(preflight('/', 'https://a.example', 'PUT'))
  t.equal(response.statusCode, 404)
  t.equal(response.headers['access-control-allow-origin'], '*', 'as @fastify/cors: the 404 still carries the simple headers')
})

t.test('parseRequestedHeaders lowercases, trims and skips empty entries in one pass', async (t) => {
  t.same(parseRequestedHeaders(' X-A ,\tx-b,, ,x-c'), ['x-a', 'x-b', 'x-c'])
  t.same(parseRequestedHeaders(''), [])
  t.same(parseRequestedHeaders(','.repeat(MAX_REQUEST_HEADERS_LENGTH)), [])
  t.equal(parseRequestedHeaders(','.repeat(MAX_REQUEST_HEADERS_LENGTH + 1)), undefined)
  t.equal(parseRequestedHeaders('x-a, bad header'), undefined)
})

t.test('a GET with Origin after a preflight is an ordinary CORS request', async (t) => {
  const { app } = await corsApp(api)
  const response = await app.inject(get('/', 'https://app.example'))
  t.equal(response.headers['access-control-allow-methods'], undefined, 'preflight headers are not sent on simple responses')
})

t.test('allowed preflight answers are remembered by exactly what was asked, refusals never', async (t) => {
  const reflecting = compilePolicy({ origin: ['https://app.example'], methods: ['PUT'] })
  const allowed = reflecting.decisions.allowedReflect
  const first = decidePreflight(reflecting, allowed, 'PUT', 'x-a, x-b')
  t.equal(decidePreflight(reflecting, allowed, 'PUT', 'x-a, x-b'), first, 'the same question gets the remembered answer')
  t.ok(Object.isFrozen(first))
  const other = decidePreflight(reflecting, allowed, 'PUT', 'x-a,x-b')
  t.not(other, first)
  t.same(other.headers.find(([name]) => name === 'access-control-allow-headers'), ['access-control-allow-headers', 'x-a,x-b'], 'a reflected list is echoed as it was sent')
  t.match(decidePreflight(reflecting, allowed, 'PUT', 'x-a, bad header'), { allowed: false, reason: 'header-not-allowed' })
  t.match(decidePreflight(reflecting, allowed, 'DELETE', 'x-a, x-b'), { allowed: false, reason: 'method-not-allowed', detail: 'DELETE' })
  t.match(decidePreflight(reflecting, allowed, 'PUT\nx-a, x-b', undefined), { allowed: false, reason: 'method-not-allowed' }, 'a method cannot pass for a remembered method and list')
  const listed = compilePolicy({ origin: ['https://app.example'], methods: ['PUT'], allowedHeaders: ['x-a'] })
  for (let i = 0; i < 2; i++) {
    t.match(decidePreflight(listed, listed.decisions.allowedReflect, 'PUT', 'x-a, x-b'), { allowed: false, reason: 'header-not-allowed', detail: 'x-b' }, 'asked twice, refused twice')
  }
  t.equal(listed.preflightAnswers.size, 0)
})

t.test('remembered preflight answers stay bounded, even when every origin decision is new', async (t) => {
  const policy = compilePolicy({ origin: ['https://app.example'], methods: ['PUT'], allowedHeaders: ['content-type'] })
  // As an origin function answering a fixed origin does: a new decision object per request.
  const statuses = new Set<number | undefined>()
  for (let i = 0; i < 5000; i++) {
    const decision = Object.freeze({ ...policy.decisions.fixedMismatch, allowOrigin: 'https://other.example' })
    statuses.add(decidePreflight(policy, decision, 'PUT', 'content-type').status)
  }
  t.same([...statuses], [204])
  t.ok(policy.preflightAnswers.size <= REMEMBERED_DECISIONS, `${policy.preflightAnswers.size} decisions remembered`)
  // And a client asking for ever new header lists.
  const reflecting = compilePolicy({ origin: ['https://app.example'], methods: ['PUT'] })
  for (let i = 0; i < 5000; i++) decidePreflight(reflecting, reflecting.decisions.allowedReflect, 'PUT', `x-h${i}`)
  const remembered = reflecting.preflightAnswers.get(reflecting.decisions.allowedReflect)?.size ?? 0
  t.ok(remembered > 0 && remembered <= REMEMBERED_PREFLIGHTS, `${remembered} answers remembered`)
})
