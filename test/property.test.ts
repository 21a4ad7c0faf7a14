import t from 'tap'
import fc from 'fast-check'
import { strict as assert } from 'node:assert'
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify'
import corsPlugin, { type CorsOptions } from '../lib/index'
import { attackOrigins } from '../lib/testing/index'
import {
  answerDependsOnOrigin,
  configAllowsOrigin,
  corsCheck,
  expectedVerdict,
  needsPreflight,
  preflightPasses,
  type ModelConfig,
  type PageRequest,
  type ServerAnswer
} from './support/fetch-cors-model'

// A small vocabulary, so that generated requests often land on, next to, or just outside the
// generated configuration.
const LABELS = ['app', 'api', 'example', 'evil', 'a', 'b']
const TLDS = ['com', 'org']
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']
const HEADERS = ['x-a', 'X-B', 'authorization', 'content-type']
// All non-safelisted, in the order browsers send them (lowercase, sorted).
const REQUEST_HEADERS = ['authorization', 'x-a', 'x-b', 'x-c']
// fetch() upper-cases put and delete, not patch.
const PAGE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'patch']

const scheme = fc.constantFrom('http', 'https')
const host = fc.tuple(fc.array(fc.constantFrom(...LABELS), { minLength: 1, maxLength: 2 }), fc.constantFrom(...TLDS))
  .map(([labels, tld]) => [...labels, tld].join('.'))
const exactOrigin = fc.tuple(scheme, host, fc.constantFrom('', ':3000', ':8443')).map(([s, h, p]) => `${s}://${h}${p}`)
const subdomainPattern = fc.tuple(scheme, fc.constantFrom(...LABELS), fc.constantFrom(...TLDS), fc.constantFrom('', ':3000', ':*'))
  .map(([s, label, tld, p]) => `${s}://*.${label}.${tld}${p}`)
const portPattern = fc.tuple(scheme, host).map(([s, h]) => `${s}://${h}:*`)

/** Options that boot under strict validation: '*' only without credentials. */
const config: fc.Arbitrary<ModelConfig> = fc.boolean().chain(credentials => fc.record({
  origin: fc.oneof(
    { weight: 6, arbitrary: fc.array(fc.oneof(exactOrigin, subdomainPattern, portPattern), { minLength: 1, maxLength: 4 }) },
    { weight: 1, arbitrary: exactOrigin },
    { weight: 1, arbitrary: subdomainPattern },
    ...(credentials ? [] : [{ weight: 1, arbitrary: fc.constant('*') }])
  ),
  credentials: fc.constant(credentials),
  methods: fc.subarray(credentials ? METHODS : [...METHODS, '*']),
  allowedHeaders: fc.option(fc.subarray(credentials ? HEADERS : [...HEADERS, '*']), { nil: undefined })
}))

/** Origins the configuration allows (for each pattern, a few shapes) and the attack module's look-alikes. */
function nearby (config: ModelConfig): { allowed: string[], hostile: string[] } {
  const entries = config.origin === '*' ? ['https://app.example.com'] : typeof config.origin === 'string' ? [config.origin] : [...config.origin]
  const allowed = entries.flatMap(entry => ['x.', 'a.b.', '_a.', 'x-y.'].map(labels => entry.replace('*.', labels)))
    .flatMap(origin => origin.endsWith(':*') ? ['', ':1', ':3000', ':65535'].map(port => origin.slice(0, -2) + port) : [origin])
  return { allowed: [...new Set(allowed)], hostile: attackOrigins(entries).map(attack => attack.origin) }
}

const pageRequest = ({ allowed, hostile }: { allowed: string[], hostile: string[] }): fc.Arbitrary<PageRequest> => fc.record({
  origin: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...allowed) },
    { weight: 2, arbitrary: fc.constantFrom(...hostile) },
    { weight: 1, arbitrary: exactOrigin }
  ),
  credentials: fc.boolean(),
  method: fc.constantFrom(...PAGE_METHODS),
  headers: fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 3, arbitrary: fc.subarray(REQUEST_HEADERS, { minLength: 1 }) })
})

const scenario = config.chain(c => fc.tuple(fc.constant(c), fc.array(pageRequest(nearby(c)), { minLength: 1, maxLength: 6 })))

function pluginOptions (config: ModelConfig): CorsOptions {
  return {
    origin: typeof config.origin === 'string' ? config.origin : [...config.origin],
    credentials: config.credentials,
    methods: [...config.methods],
    ...(config.allowedHeaders === undefined ? {} : { allowedHeaders: [...config.allowedHeaders] })
  }
}

function answerOf (response: LightMyRequestResponse): ServerAnswer {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) headers[name] = String(value)
  return { status: response.statusCode, headers }
}

interface Tally { allowed: number, refused: number, preflights: number, preflightsPassed: number }

/**
 * Plays one page request the way a browser would (preflight when needed, then the request if the
 * preflight passed), checks every answer against the config's invariants, and returns the browser's verdict.
 */
async function play (app: FastifyInstance, config: ModelConfig, request: PageRequest, tally: Tally): Promise<boolean> {
  const where = JSON.stringify({ config, request })
  const inspect = (response: LightMyRequestResponse, preflight: boolean): ServerAnswer => {
    assert.ok(response.statusCode < 500, `no 5xx: ${response.statusCode} ${where}`)
    const vary = String(response.headers.vary ?? '').split(',').map(name => name.trim().toLowerCase())
    // CORS-RULES, "Caches and Vary": Vary: Origin exactly when the answer depends on the origin.
    assert.equal(vary.includes('origin'), answerDependsOnOrigin(config), `Vary: ${String(response.headers.vary)} ${where}`)
    if (answerDependsOnOrigin(config) && !configAllowsOrigin(config, request.origin)) {
      assert.deepEqual(Object.keys(response.headers).filter(name => name.startsWith('access-control-')), [], `a refused origin gets no CORS headers ${where}`)
      if (preflight) assert.equal(response.statusCode, 403, `a refused preflight is 403 ${where}`)
    }
    return answerOf(response)
  }

  if (needsPreflight(request)) {
    const headers: Record<string, string> = { origin: request.origin, 'access-control-request-method': request.method }
    if (request.headers.length > 0) headers['access-control-request-headers'] = request.headers.join(',')
    const answer = inspect(await app.inject({ method: 'OPTIONS', url: '/', headers }), true)
    tally.preflights++
    const passes = preflightPasses(request, answer)
    assert.equal(preflightPasses(request, answer, true), passes, `a lax browser decides the same ${where}`)
    if (!passes) return false
    tally.preflightsPassed++
  }
  const headers: Record<string, string> = { origin: request.origin }
  for (const name of request.headers) headers[name] = name === 'authorization' ? 'Bearer token' : '1'
  const actual: InjectOptions = { method: request.method.toUpperCase() as InjectOptions['method'], url: '/', headers }
  return corsCheck(request, inspect(await app.inject(actual), false))
}

t.test("the browser's verdict on the plugin's answers is the one the configuration calls for", async (t) => {
  const tally: Tally = { allowed: 0, refused: 0, preflights: 0, preflightsPassed: 0 }
  await fc.assert(fc.asyncProperty(scenario, async ([config, requests]) => {
    const app = Fastify()
    try {
      await app.register(corsPlugin, pluginOptions(config))
      app.get('/', async () => 'ok')
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) app.route({ method, url: '/', handler: async () => 'ok' })
      for (const request of requests) {
        const verdict = await play(app, config, request, tally)
        assert.equal(verdict, expectedVerdict(config, request), `browser verdict ${JSON.stringify({ config, request })}`)
        tally[verdict ? 'allowed' : 'refused']++
      }
    } finally {
      await app.close()
    }
  }), { numRuns: 150 })
  // The generators must reach both verdicts, by both paths, or the property says little.
  t.ok(tally.allowed > 0 && tally.refused > 0, `allowed ${tally.allowed}, refused ${tally.refused}`)
  t.ok(tally.preflightsPassed > 0 && tally.preflightsPassed < tally.preflights, `${tally.preflightsPassed} of ${tally.preflights} preflights passed`)
})

t.test('every origin next to the configuration is answered as the configuration calls for', async (t) => {
  // The random requests above meet a given look-alike rarely; here each generated configuration is
  // swept with all of its allowed samples and all the attack module's look-alikes, as simple requests.
  let swept = 0
  await fc.assert(fc.asyncProperty(config, fc.boolean(), async (config, credentials) => {
    const { allowed, hostile } = nearby(config)
    const app = Fastify()
    try {
      await app.register(corsPlugin, pluginOptions(config))
      app.get('/', async () => 'ok')
      const tally: Tally = { allowed: 0, refused: 0, preflights: 0, preflightsPassed: 0 }
      for (const origin of [...allowed, ...hostile]) {
        const request: PageRequest = { origin, credentials, method: 'GET', headers: [] }
        const verdict = await play(app, config, request, tally)
        assert.equal(verdict, expectedVerdict(config, request), `browser verdict ${JSON.stringify({ config, request })}`)
        swept++
      }
    } finally {
      await app.close()
    }
  }), { numRuns: 40 })
  t.ok(swept > 40 * 50, `${swept} origins swept`)
})

t.test('the model itself: the Fetch rules it encodes', async (t) => {
  const page = (extra: Partial<PageRequest> = {}): PageRequest =>
    ({ origin: 'https://app.example.com', credentials: false, method: 'PUT', headers: ['authorization', 'x-a'], ...extra })
  const answer = (headers: Record<string, string>, status = 204): ServerAnswer => ({ status, headers })
  t.ok(preflightPasses(page(), answer({ 'access-control-allow-origin': '*', 'access-control-allow-methods': '*', 'access-control-allow-headers': 'Authorization, *' })))
  const star = answer({ 'access-control-allow-origin': '*', 'access-control-allow-methods': '*', 'access-control-allow-headers': '*' })
  t.notOk(preflightPasses(page(), star), "'*' never covers Authorization")
  t.ok(preflightPasses(page(), star, true), 'except in a lax browser')
  t.notOk(preflightPasses(page({ credentials: true }), answer({
    'access-control-allow-origin': 'https://app.example.com', 'access-control-allow-credentials': 'true', 'access-control-allow-methods': '*', 'access-control-allow-headers': 'authorization, x-a'
  })), "with credentials '*' is a method named '*'")
  t.notOk(preflightPasses(page({ headers: [] }), answer({ 'access-control-allow-origin': '*', 'access-control-allow-methods': 'PUT' }, 302)), 'a redirect fails')
  t.notOk(corsCheck(page({ credentials: true }), answer({ 'access-control-allow-origin': 'https://app.example.com' })), 'credentials need Allow-Credentials')
  t.notOk(corsCheck(page(), answer({ 'access-control-allow-origin': 'https://app.example.com/' })), 'byte equality')
  const list: ModelConfig = { origin: ['https://*.example.com', 'http://localhost:*'], credentials: true, methods: [], allowedHeaders: undefined }
  t.same(['https://a.example.com', 'https://a.b.example.com', 'https://example.com', 'https://-a.example.com', 'http://localhost:65535', 'http://localhost:65536', 'http://localhost']
    .map(origin => configAllowsOrigin(list, origin)), [true, true, false, false, true, false, true])
})
