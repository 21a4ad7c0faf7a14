import t from 'tap'
import { validateHeaderValue } from 'node:http'
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify'
import { problemCodes, type CorsOptions } from '../lib/index'
import { MAX_REQUEST_HEADERS_LENGTH, parseRequestedHeaders } from '../lib/header-list'
import {
  ATTACKER_HOST,
  ORIGIN_ATTACK_CATEGORIES,
  attackOrigins,
  attackPreflights,
  formatFindings,
  planCorsAttacks,
  runCorsAttacks,
  type CorsAttackOptions,
  type CorsFinding,
  type Injectable
} from '../lib/testing/index'
import { corsApp, get, preflight } from './support/app'
import { preflightPasses } from './support/fetch-cors-model'

const origins = (allowed: string[]): string[] => attackOrigins(allowed).map(attack => attack.origin)
const isHeaderValue = (value: string): boolean => {
  try {
    validateHeaderValue('x', value)
    return true
  } catch {
    return false
  }
}
const kinds = (findings: readonly CorsFinding[]): string[] => [...new Set(findings.map(finding => finding.kind))].sort()

// --- The attack generator -------------------------------------------------------------------

t.test('an exact origin gets look-alikes of every kind, none of them the origin itself', async (t) => {
  const attacks = attackOrigins(['https://app.example.com'])
  const generated = attacks.map(attack => attack.origin)
  t.notOk(generated.includes('https://app.example.com'))
  t.equal(new Set(generated).size, generated.length, 'no origin is sent twice')
  for (const expected of [
    'https://evil-app.example.com', 'https://evilapp.example.com', 'https://evil-example.com', 'https://evilexample.com',
    'https://app.example.com.attacker.test', 'https://app.example.comattacker.test',
    'https://evil.app.example.com', 'https://a.b.app.example.com',
    'https://appxexample.com', 'https://app.examplexcom',
    'https://app.example.com.',
    'http://app.example.com', 'wss://app.example.com',
    'https://app.example.com:8443', 'https://app.example.com:443', 'https://app.example.com:',
    'HTTPS://APP.EXAMPLE.COM', 'https://APP.EXAMPLE.COM',
    'https://\u0430pp.example.com', 'https://xn--pp-6kc.example.com', 'https://app\uff0eexample\uff0ecom',
    'https://app.example.com@attacker.test', 'https://attacker.test@app.example.com',
    'https://app.example.com/', 'https://attacker.test/app.example.com', 'https://attacker.test?app.example.com',
    'https://attacker.test/https://app.example.com',
    ' https://app.example.com', 'https://app.example.com\u0000', 'https://app.example.com\r\nx-injected: 1',
    'https://app.example.com\u00a0',
    'https://app.example.com, https://attacker.test', 'https://attacker.test, https://app.example.com',
    'null', '', '*', 'file://'
  ]) t.ok(generated.includes(expected), JSON.stringify(expected))
  t.ok(generated.some(origin => origin.length > 512 && origin.length < 1000), 'just over the longest origin a browser sends')
  t.ok(generated.some(origin => origin.length > 64_000), 'tens of kilobytes')
  const categories = new Set(attacks.map(attack => attack.category))
  for (const category of Object.keys(ORIGIN_ATTACK_CATEGORIES)) {
    if (category === 'wildcard' || category === 'ip' || category === 'combination' || category === 'other-route') continue
    t.ok(categories.has(category as never), category)
  }
  const suffix = attacks.find(attack => attack.origin === 'https://evil-example.com')
  t.same(suffix, { kind: 'origin', category: 'suffix', origin: 'https://evil-example.com', imitates: 'https://app.example.com' })
  t.same(attacks.find(attack => attack.origin === 'null'), { kind: 'origin', category: 'generic', origin: 'null', imitates: undefined })
  t.same(attackOrigins(['https://app.example.com']), attacks, 'the same list always gives the same cases')
})

t.test('wildcards are attacked where they must not reach, and never where they are meant to', async (t) => {
  const generated = origins(['https://*.example.com', 'http://localhost:*'])
  for (const expected of [
    'https://example.com', 'https://.example.com', 'https://*.example.com', 'https://a..example.com',
    'https://evil-example.com', 'https://evilexample.com', 'https://cors-probe.example.com.attacker.test',
    'https://cors-probexexample.com', 'http://cors-probe.example.com', 'https://cors-probe.example.com:8443',
    'https://cors-probe.example.com.', 'https://cors-probe.\u0435xample.com', 'https://cors-probe.xn--xample-2of.com',
    'http://localhost.attacker.test', 'https://localhost', 'ws://localhost', 'http://localhost:', 'http://localhost:080',
    'http://localhost:65536', 'http://localhost:0x50', 'http://localhost:-1', 'http://127.0.0.1', 'http://[::1]',
    'http://localhost.'
  ]) t.ok(generated.includes(expected), JSON.stringify(expected))
  // '*.' stands for one label or more; ':*' for any port or none.
  for (const intended of ['https://a.example.com', 'https://a.b.example.com', 'https://cors-probe.example.com', 'http://localhost', 'http://localhost:3000', 'http://localhost:0']) {
    t.notOk(generated.includes(intended), `${intended} is allowed by the list`)
  }
})

t.test('an exact port is attacked with its neighbours and other spellings', async (t) => {
  const generated = origins(['https://*.example.com:8443', 'http://127.0.0.1:3000'])
  for (const expected of [
    'https://cors-probe.example.com', 'https://cors-probe.example.com:8444', 'https://cors-probe.example.com:84430',
    'https://cors-probe.example.com:08443', 'https://example.com:8443',
    'http://127.0.0.1', 'http://127.0.0.1:3001', 'http://127.0.0.1:30000', 'http://127.0.0.1:03000',
    'http://2130706433:3000', 'http://0x7f000001:3000', 'http://0177.00.00.01:3000', 'http://127.1:3000',
    'http://[::ffff:127.0.0.1]:3000', 'http://localhost:3000', 'http://[::1]:3000'
  ]) t.ok(generated.includes(expected), JSON.stringify(expected))
  t.notOk(generated.includes('https://a.b.example.com:8443'))
})

t.test('punycode, non-default schemes and null entries', async (t) => {
  const generated = origins(['https://xn--bcher-kva.example', 'chrome-extension://abcdefgh', 'null'])
  t.ok(generated.includes('https://b\u00fccher.example'), 'the Unicode form of a punycode host')
  t.ok(generated.includes('chrome-extension://abcdefgh:8443'))
  t.notOk(generated.some(origin => /^chrome-extension:\/\/abcdefgh:(80|443)$/.test(origin)), 'no default port for a scheme without one')
  t.notOk(generated.includes('null'), "'null' is listed, so it is no attack")
})

t.test('pieces of two allowed origins are put together', async (t) => {
  const generated = origins(['https://foo.com', 'https://bar.com', 'http://localhost:3000'])
  for (const expected of [
    'https://barfoo.com', 'https://foo.com.bar.com', 'https://localhost', 'https://foo.com:3000', 'http://foo.com:3000',
    'http://localhost', 'http://barlocalhost:3000'
  ]) t.ok(generated.includes(expected), expected)
})

t.test('allowed lists that cannot be attacked are refused with the fix', async (t) => {
  t.throws(() => attackOrigins(['*']), { name: 'TypeError', message: /allowed\[0\] = "\*": list the origins .* publicWildcard: true/ })
  for (const bad of ['https://app.example.com/', 'https://App.example.com', 'app.example.com', 'https://app.example.com:70000', 'https://*.*.example.com']) {
    t.throws(() => attackOrigins(['https://ok.example', bad]), { name: 'TypeError', message: /allowed\[1\] = .* is not an origin as browsers send it/ }, bad)
  }
  t.throws(() => attackOrigins([42 as never]), { message: /allowed\[0\] = 42 is not an origin/ })
  t.throws(() => attackOrigins(['https://app.example.com:443']), { message: /never send the default port; write "https:\/\/app\.example\.com"/ })
  t.throws(() => attackOrigins('https://app.example.com' as never), { message: /allowed must be an array/ })
  t.throws(() => planCorsAttacks({ allowed: [] }), { message: /at least one origin/ })
  t.throws(() => planCorsAttacks({ allowed: ['https://a.example'], routes: ['api'] }), { message: /routes: "api" is not a URL path/ })
  await t.rejects(runCorsAttacks(Fastify(), { allowed: [] }), { name: 'TypeError' })
})

t.test('hostile preflight fields cover methods and header lists', async (t) => {
  const attacks = attackPreflights()
  const methods = attacks.filter(attack => attack.category === 'request-method').map(attack => attack.requestMethod)
  t.same(methods.slice(0, 6), ['put', 'patch', 'delete', 'CONNECT', 'TRACE', 'TRACK'])
  t.ok(methods.includes('__proto__') && methods.includes('constructor'))
  const lists = attacks.filter(attack => attack.category === 'request-headers')
  t.ok(lists.every(attack => attack.requestMethod === undefined && typeof attack.requestHeaders === 'string'))
  t.ok(lists.filter(attack => (attack.requestHeaders as string).length >= 65_536).length >= 6, 'tens of kilobytes of commas, spaces, duplicates')
})

t.test('the plan: each origin attack as a request and a preflight, hostile preflights, look-alike URLs', async (t) => {
  const options: CorsAttackOptions = {
    allowed: ['https://*.example.com'],
    routes: ['/', { url: '/admin?x=1', method: 'PUT' }],
    requestHeaders: ['X-Request-Id', 'content-type', 'x-request-id'],
    otherOrigins: ['https://partner.example', 'https://partner.example', 'https://a.example.com', 'null']
  }
  const probes = planCorsAttacks(options)
  const originAttacks = attackOrigins(options.allowed).length + 1 // + partner.example; a.example.com is allowed, null already attacked
  const variants = { '/': ['//', '/;cors-probe', '/?cors-probe'], '/admin?x=1': ['/admin/?x=1', '//admin?x=1', '/ADMIN?x=1', '/%61dmin?x=1', '/admin;cors-probe?x=1', '/admin?x=1&cors-probe'] }
  t.equal(probes.length, 2 * (2 * originAttacks + attackPreflights().length) + variants['/'].length + variants['/admin?x=1'].length)

  const admin = probes.filter(probe => probe.request.url === '/admin?x=1' || probe.followUp !== undefined)
  const partner = admin.filter(probe => probe.attack.kind === 'origin' && probe.attack.category === 'other-route')
  t.same(partner.map(probe => [probe.type, probe.request.method, probe.request.url]), [
    ...variants['/'].map(url => ['route-variant', 'OPTIONS', url]),
    ['request', 'PUT', '/admin?x=1'],
    ['preflight', 'OPTIONS', '/admin?x=1'],
    ...variants['/admin?x=1'].map(url => ['route-variant', 'OPTIONS', url])
  ])
  const variant = partner.find(probe => probe.type === 'route-variant' && probe.request.url === '/ADMIN?x=1')
  t.same(variant?.request.headers, {
    origin: 'https://partner.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type,x-request-id'
  }, 'request headers go lowercase, sorted, comma-joined, as browsers send them')
  t.same(variant?.followUp, { method: 'PUT', url: '/ADMIN?x=1', headers: { origin: 'https://partner.example' } })

  const hostile = probes.filter(probe => probe.attack.kind === 'preflight' && probe.request.url === '/')
  t.ok(hostile.every(probe => probe.request.headers.origin === 'https://cors-probe.example.com'), 'sent from an allowed origin')
  t.equal(hostile[0]?.request.headers['access-control-request-method'], 'put')
  t.equal(hostile.at(-1)?.request.headers['access-control-request-method'], 'GET', 'the route method, with a hostile header list')

  const simple = planCorsAttacks({ allowed: ['null'] })
  t.same(simple[0]?.request, { method: 'GET', url: '/', headers: { origin: attackOrigins(['null'])[0]?.origin } })
  t.same(simple[1]?.request.headers, { origin: attackOrigins(['null'])[0]?.origin, 'access-control-request-method': 'GET' }, 'no request headers unless given')
  t.ok(simple.filter(probe => probe.attack.kind === 'preflight').every(probe => probe.request.headers.origin === 'null'))
  t.notOk(simple.some(probe => probe.type === 'route-variant'), 'look-alike URLs only with otherOrigins')
})

// --- What runCorsAttacks reports, on apps written to be wrong -------------------------------

/** A hand-written CORS hook (not the plugin): `decide` returns the CORS headers to send. */
function handMade (decide: (origin: string, request: { method: string, url: string, acrh: string }) => Record<string, string> | undefined): FastifyInstance {
  const app = Fastify()
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin
    const acrh = String(request.headers['access-control-request-headers'] ?? '')
    const headers = origin === undefined ? undefined : decide(origin, { method: request.method, url: request.url, acrh })
    if (headers !== undefined) reply.headers(headers)
    if (request.method === 'OPTIONS') return reply.code(204).send()
  })
  app.get('/', async () => 'ok')
  return app
}

t.test('an app that reflects every origin with credentials is caught on every kind of origin', async (t) => {
  // Reflects every origin Node accepts as a header value (others would make the app answer 500).
  const app = handMade(origin => isHeaderValue(origin)
    ? { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' }
    : undefined)
  const allowed = ['https://app.example.com']
  const findings = await runCorsAttacks(app, { allowed })
  const reflected = findings.filter(finding => finding.kind === 'wrong-allow')
  const reflectable = attackOrigins(allowed).filter(attack => isHeaderValue(attack.origin) && attack.origin !== '*')
  t.ok(reflectable.length > 50)
  t.same(reflected.map(finding => finding.request.headers.origin), reflectable.flatMap(attack => [attack.origin, attack.origin]),
    'each as a request and as a preflight')
  t.same(kinds(findings), ['wildcard-with-credentials', 'wrong-allow'], "Origin: '*' reflected is a wildcard")
  const first = reflected[0] as CorsFinding
  t.same(first.attack, attackOrigins(allowed)[0])
  t.equal(first.status, 200)
  t.same(first.headers, { 'access-control-allow-origin': 'https://evil-app.example.com', 'access-control-allow-credentials': 'true' })
  t.equal(first.message, 'GET "/" with Origin "https://evil-app.example.com" (suffix, imitating https://app.example.com: ' +
    `${ORIGIN_ATTACK_CATEGORIES.suffix}): Access-Control-Allow-Origin reflects it, with credentials: a page there can read the answer`)
  t.match(reflected.find(finding => finding.attack.kind === 'origin' && finding.attack.origin.length > 64_000)?.message,
    /^GET "\/" with Origin "https:\/\/app\.example\.com(\.a){18}\."\.\.\. \(80037 characters\) \(long, imitating https:\/\/app\.example\.com: /)
  const lines = formatFindings(findings).split('\n')
  t.equal(lines.length, findings.length)
  t.equal(lines[1], `[wrong-allow] ${(findings[1] as CorsFinding).message}`)
  t.match(lines[1], /^\[wrong-allow\] OPTIONS "\/" with Origin "https:\/\/evil-app\.example\.com" \(suffix/)
})

t.test('an endsWith check without the dot lets look-alike sites in, and only those', async (t) => {
  const app = handMade(origin => origin.endsWith('example.com') ? { 'access-control-allow-origin': origin } : undefined)
  const findings = await runCorsAttacks(app, { allowed: ['https://app.example.com'] })
  const caught = new Set(findings.map(finding => finding.attack.kind === 'origin' ? finding.attack.origin : ''))
  for (const origin of ['https://evil-example.com', 'https://evilexample.com', 'https://evil.app.example.com', 'http://app.example.com', 'https://attacker.test/app.example.com']) {
    t.ok(caught.has(origin), origin)
  }
  t.notOk(caught.has('https://app.example.com.attacker.test'))
  t.same(kinds(findings), ['server-error', 'wrong-allow'])
  t.ok(findings.filter(finding => finding.kind === 'server-error').every(finding => /[^\x20-\xff]/.test(finding.request.headers.origin as string)),
    'the app answers 500 when it reflects what Node cannot put in a header')
})

t.test("'*' is a finding unless the API is public, and always with credentials", async (t) => {
  const star = handMade(() => ({ 'access-control-allow-origin': '*' }))
  const allowed = ['https://app.example.com']
  const starFindings = await runCorsAttacks(star, { allowed })
  t.same(kinds(starFindings), ['wildcard'])
  t.equal(starFindings.length, 2 * attackOrigins(allowed).length)
  t.match(starFindings[0]?.message, /: answers Access-Control-Allow-Origin '\*': any site can read it$/)
  t.same(await runCorsAttacks(star, { allowed, publicWildcard: true }), [])

  const starWithCredentials = handMade(() => ({ 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true' }))
  t.same(kinds(await runCorsAttacks(starWithCredentials, { allowed, publicWildcard: true })), ['wildcard-with-credentials'])
})

t.test('an answer that allows some origin the list does not name is a finding', async (t) => {
  // Takes the first of two joined Origin lines, and answers a fixed listed origin otherwise.
  const app = handMade(origin => ({ 'access-control-allow-origin': origin.includes(', ') ? origin.split(', ')[0] as string : 'https://app.example.com' }))
  const findings = await runCorsAttacks(app, { allowed: ['https://app.example.com'] })
  t.same(kinds(findings), ['unlisted-origin'])
  t.same(findings.map(finding => finding.headers?.['access-control-allow-origin']), Array(2).fill('https://attacker.test'))
  t.match(findings[0]?.message, /\(joined, .*\): Access-Control-Allow-Origin is "https:\/\/attacker\.test", which allowed does not list$/)
})

t.test('a preflight is judged as browsers do: only an ok status lets anything through', async (t) => {
  const app = handMade(origin => ({ 'access-control-allow-origin': origin }))
  app.addHook('onSend', async (request, reply) => { if (request.method === 'OPTIONS') reply.code(403) })
  const findings = await runCorsAttacks(app, { allowed: ['https://app.example.com'] })
  t.ok(findings.length > 0)
  t.ok(findings.every(finding => finding.request.method === 'GET'), 'the reflecting 403 preflights are no finding')
})

t.test('5xx answers, crashes and hangs are findings', async (t) => {
  const app = handMade((origin, { acrh }) => {
    if (acrh.length > 60_000) throw new Error('parser blew up')
    return origin === 'https://app.example.com' ? { 'access-control-allow-origin': origin } : undefined
  })
  const findings = await runCorsAttacks(app, { allowed: ['https://app.example.com'] })
  t.same(kinds(findings), ['server-error'])
  t.equal(findings.length, attackPreflights().filter(attack => (attack.requestHeaders ?? '').length > 60_000).length)
  t.ok(findings.every(finding => finding.attack.kind === 'preflight' && finding.status === 500))
  t.equal(findings[0]?.message, 'OPTIONS "/" preflight with 64 KB of commas: answered 500')

  const flaky: Injectable = {
    async inject (options: InjectOptions): Promise<LightMyRequestResponse> {
      const origin = (options.headers as Record<string, string>).origin
      if (origin === 'null') throw new RangeError('boom')
      if (origin === '*') throw 'a string' // eslint-disable-line no-throw-literal
      if (origin === '') return new Promise(() => {})
      return app.inject(options)
    }
  }
  const failures = await runCorsAttacks(flaky, { allowed: ['https://app.example.com'], timeout: 5 })
  const byKind = (kind: string) => failures.filter(finding => finding.kind === kind).map(finding => finding.message)
  t.same(byKind('crash'), [
    'GET "/" with Origin "null" (generic: ' + ORIGIN_ATTACK_CATEGORIES.generic + '): inject failed: RangeError: boom',
    'OPTIONS "/" with Origin "null" (generic: ' + ORIGIN_ATTACK_CATEGORIES.generic + '): inject failed: RangeError: boom',
    'GET "/" with Origin "*" (generic: ' + ORIGIN_ATTACK_CATEGORIES.generic + '): inject failed: a string',
    'OPTIONS "/" with Origin "*" (generic: ' + ORIGIN_ATTACK_CATEGORIES.generic + '): inject failed: a string'
  ])
  t.same(byKind('timeout').map(message => message.replace(/ \(generic.*\)/, '')), [
    'GET "/" with Origin "": no answer within 5 ms',
    'OPTIONS "/" with Origin "": no answer within 5 ms'
  ])
  t.equal(failures.filter(finding => finding.kind === 'server-error').length, findings.length)
  t.equal(byKind('crash').length + byKind('timeout').length + findings.length, failures.length)
  t.equal(failures.find(finding => finding.kind === 'crash')?.status, undefined, 'no answer, no status')
})

/** A fake app with canned answers, for the follow-up branches of look-alike URLs. */
function canned (answer: (options: { method: string, url: string }) => { status: number, headers: Record<string, string | string[] | undefined> } | Error): Injectable {
  return {
    async inject (options: InjectOptions): Promise<LightMyRequestResponse> {
      const result = answer({ method: String(options.method), url: String(options.url) })
      if (result instanceof Error) throw result
      return { statusCode: result.status, headers: result.headers } as unknown as LightMyRequestResponse
    }
  }
}

t.test('a preflight to a look-alike URL that lets through a request the route refuses is a finding', async (t) => {
  const partner = 'https://partner.example'
  const options = { allowed: ['https://app.example.com'], routes: [{ url: '/admin', method: 'PUT' }], otherOrigins: [partner] }
  // The route refuses partner on every URL; preflights to the trailing-slash URL fall to a looser policy.
  const loose = (allowOrigin: string) => canned(({ method, url }) => method === 'OPTIONS' && url === '/admin/'
    ? { status: 204, headers: { 'access-control-allow-origin': allowOrigin, vary: ['Origin', 'Accept'] } }
    : { status: 200, headers: { vary: 'Origin' } })
  for (const allowOrigin of [partner, '*']) {
    const findings = await runCorsAttacks(loose(allowOrigin), options)
    t.same(findings.map(finding => [finding.kind, finding.request.method, finding.request.url, finding.status]),
      [['preflight-mismatch', 'PUT', '/admin/', 200]], allowOrigin)
    t.same(findings[0]?.headers, { vary: 'Origin' }, "the answer at fault is the route's")
    t.match(findings[0]?.message, /^PUT "\/admin\/" with Origin "https:\/\/partner\.example" \(other-route: .*\): the preflight to this URL allowed the origin \(status 204\), but the answer to the request itself does not \(status 200\)/)
  }
  // A look-alike URL served under a policy that allows partner for the request too is consistent.
  const consistent = canned(({ method, url }) => url === '/admin/'
    ? { status: method === 'OPTIONS' ? 204 : 404, headers: { 'access-control-allow-origin': partner } }
    : { status: 200, headers: {} })
  t.same(await runCorsAttacks(consistent, options), [])
  const failing = canned(({ method, url }) => method === 'OPTIONS' && url === '/admin/'
    ? { status: 204, headers: { 'access-control-allow-origin': partner } }
    : url === '/admin/' ? { status: 503, headers: {} } : { status: 200, headers: {} })
  t.same((await runCorsAttacks(failing, options)).map(finding => [finding.kind, finding.request.method, finding.status]), [['server-error', 'PUT', 503]])
  const crashing = canned(({ method, url }) => method === 'OPTIONS' && url === '/admin/'
    ? { status: 204, headers: { 'access-control-allow-origin': partner } }
    : url === '/admin/' ? new Error('socket hang up') : { status: 200, headers: {} })
  const crash = await runCorsAttacks(crashing, options)
  t.same(crash.map(finding => [finding.kind, finding.request.method, finding.request.url]), [['crash', 'PUT', '/admin/']])
  t.match(crash[0]?.message, /: inject failed: Error: socket hang up$/)
})

// --- Our plugin under attack ----------------------------------------------------------------

async function attackPlugin (t: tap.Test, options: CorsOptions, attack: CorsAttackOptions, routes?: (app: FastifyInstance) => void): Promise<void> {
  const { app } = await corsApp(options, routes ?? (app => {
    app.get('/', async () => 'ok')
    app.put('/items', async () => 'ok')
  }))
  const findings = await runCorsAttacks(app, { routes: ['/', { url: '/items', method: 'PUT' }], requestHeaders: ['content-type', 'x-request-id'], ...attack })
  t.equal(findings.length, 0, formatFindings(findings.slice(0, 20)))
}

t.test('a list of origins with credentials allows none of the attacks', async (t) => {
  const allowed = ['https://app.example.com', 'https://admin.example.org:8443', 'http://localhost:3000', 'http://127.0.0.1:5173']
  await attackPlugin(t, { origin: allowed, credentials: true, methods: 'GET,PUT', allowedHeaders: 'content-type,x-request-id' }, { allowed })
})

t.test('patterns allow none of the attacks', async (t) => {
  const allowed = ['https://*.example.com', 'http://localhost:*', 'https://*.partner.example:8443']
  await attackPlugin(t, { origin: allowed, credentials: true, methods: ['GET', 'PUT'] }, { allowed })
})

t.test('an anchored RegExp allows none of the attacks', async (t) => {
  await attackPlugin(t, { origin: [/^https:\/\/(?:app|admin)\.example\.com$/], methods: ['GET', 'PUT'], credentials: true },
    { allowed: ['https://app.example.com', 'https://admin.example.com'] })
})

t.test('an async origin function allows none of the attacks, and one that throws answers no 500', async (t) => {
  const allowed = ['https://app.example.com', 'https://*.example.org']
  await attackPlugin(t, { origin: async (origin) => origin === 'https://app.example.com' || /^https:\/\/[a-z-]+\.example\.org$/.test(origin as string), methods: 'GET,PUT' }, { allowed })
  await attackPlugin(t, { origin: (_origin, callback) => callback(null, allowed), methods: 'GET,PUT' }, { allowed })
  await attackPlugin(t, {
    origin: async (origin) => {
      if (origin !== 'https://app.example.com') throw new Error(`unknown origin ${String(origin)}`)
      return true
    },
    methods: 'GET,PUT'
  }, { allowed: ['https://app.example.com'] })
})

t.test("a fixed origin and a public '*' allow none of the attacks", async (t) => {
  await attackPlugin(t, { origin: 'https://app.example.com', credentials: true, methods: 'GET,PUT' }, { allowed: ['https://app.example.com'] })
  await attackPlugin(t, { origin: '*', methods: 'GET,PUT' }, { allowed: ['https://app.example.com'], publicWildcard: true })
})

const appOrigins = ['https://app.example.com', 'http://localhost:3000']
const adminOrigins = ['https://admin.example.com']

function perRouteRoutes (app: FastifyInstance): void {
  const config = { cors: { origin: adminOrigins, methods: ['GET', 'PUT'], credentials: true } }
  app.get('/', async () => 'ok')
  app.put('/admin', { config }, async () => 'admin')
  app.register(async (api) => { api.put('/', { config }, async () => 'api') }, { prefix: '/api' })
}

t.test('a per-route policy holds against the app-wide origins, for requests and preflights', async (t) => {
  await attackPlugin(t, { origin: appOrigins, methods: ['GET', 'PUT'] },
    { allowed: appOrigins, routes: ['/'], otherOrigins: adminOrigins }, perRouteRoutes)
  await attackPlugin(t, { origin: appOrigins, methods: ['GET', 'PUT'] },
    { allowed: adminOrigins, routes: [{ url: '/admin', method: 'PUT' }, { url: '/api', method: 'PUT' }], otherOrigins: appOrigins }, perRouteRoutes)
})

t.test("a preflight to a prefixed root route's trailing-slash twin is decided by that route's policy", async (t) => {
  // Fastify serves PUT /api/ with the route registered as '/' under prefix '/api' (prefixTrailingSlash 'both'),
  // without running onRoute hooks for that twin.
  const { app } = await corsApp({ origin: appOrigins, methods: ['GET', 'PUT'] }, perRouteRoutes)
  const served = await app.inject({ method: 'PUT', url: '/api/', headers: { origin: 'https://app.example.com' } })
  t.equal(served.body, 'api')
  t.equal(served.headers['access-control-allow-origin'], undefined, 'the route refuses app.example.com')
  const outsider = await app.inject(preflight('/api/', 'https://app.example.com', 'PUT'))
  t.equal(outsider.statusCode, 403, 'so must its preflight')
  t.equal(outsider.headers['access-control-allow-origin'], undefined)
  const admin = await app.inject(preflight('/api/', 'https://admin.example.com', 'PUT'))
  t.equal(admin.headers['access-control-allow-origin'], 'https://admin.example.com')
})

t.test('a per-route policy holds when Fastify router options are given as routerOptions', async (t) => {
  const routerOptions = { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, caseSensitive: false }
  const { app } = await corsApp({ origin: appOrigins, methods: ['GET', 'PUT'] }, perRouteRoutes, { routerOptions } as never)
  for (const url of ['/admin/', '//admin', '/ADMIN']) {
    t.equal((await app.inject({ method: 'PUT', url, headers: { origin: 'https://app.example.com' } })).body, 'admin', `Fastify serves ${url}`)
    const outsider = await app.inject(preflight(url, 'https://app.example.com', 'PUT'))
    t.equal(outsider.statusCode, 403, `preflight ${url}`)
  }
  const findings = await runCorsAttacks(app, { allowed: adminOrigins, routes: [{ url: '/admin', method: 'PUT' }], otherOrigins: appOrigins })
  t.equal(findings.length, 0, formatFindings(findings))
})

// --- RegExp pitfalls ------------------------------------------------------------------------

t.test('an unanchored or half-anchored RegExp is warned about, and the attacks show what it lets in', async (t) => {
  for (const [regexp, shouldLetIn] of [
    [/example\.com$/, 'https://evilexample.com'],
    [/^https:\/\/example\.com/, 'https://example.com.attacker.test'],
    [/^https:\/\/example\.com|www\.example\.com$/, 'https://example.com.attacker.test']
  ] as const) {
    for (const strict of [false, true]) {
      const { app, logs } = await corsApp({ origin: [regexp], strict })
      const warning = logs.find(line => line.code === problemCodes.UNANCHORED_REGEXP)
      t.equal(warning?.level, 40, `${String(regexp)} strict: ${strict} is warned about`)
      const findings = await runCorsAttacks(app, { allowed: ['https://example.com'] })
      t.ok(findings.some(finding => finding.kind === 'wrong-allow' && finding.request.headers.origin === shouldLetIn), `${String(regexp)} lets ${shouldLetIn} in`)
    }
  }
})

t.test('a RegExp with g or y answers the same on every request', async (t) => {
  const globalRegExp = /^https:\/\/app\.example\.com$/g
  const { app, logs } = await corsApp({ origin: [globalRegExp, /^https:\/\/b\.example\.com$/y], strict: false })
  t.same(logs.filter(line => line.code === problemCodes.STATEFUL_REGEXP).map(line => line.level), [40, 40])
  for (let i = 0; i < 6; i++) {
    t.equal((await app.inject(get('/', 'https://app.example.com'))).headers['access-control-allow-origin'], 'https://app.example.com')
    t.equal((await app.inject(get('/', 'https://b.example.com'))).headers['access-control-allow-origin'], 'https://b.example.com')
    t.equal((await app.inject(preflight('/', 'https://app.example.com', 'PUT'))).statusCode, 204)
  }
  t.equal(globalRegExp.lastIndex, 0, "the user's RegExp is not touched")
  const dynamic = await corsApp({ origin: async () => globalRegExp })
  const answers = []
  for (let i = 0; i < 6; i++) answers.push((await dynamic.app.inject(get('/', 'https://app.example.com'))).headers['access-control-allow-origin'])
  t.same(answers, Array(6).fill('https://app.example.com'), 'also when an origin function answers it')
  await t.rejects(corsApp({ origin: [globalRegExp] }), { code: 'CORS_GUARD_INVALID_CONFIG', message: /CORS_GUARD_STATEFUL_REGEXP/ }, 'refused when strict')
})

// --- Access-Control-Request-Headers: hostile lists, linear cost -----------------------------

const hostileLists: ReadonlyArray<[string, (size: number) => string]> = [
  ['commas', size => ','.repeat(size)],
  ['spaces', size => ' '.repeat(size)],
  ['", "', size => ', '.repeat(size / 2)],
  ['tabs and commas', size => '\t,'.repeat(size / 2)],
  ['duplicate names', size => 'x-a,'.repeat(size / 4)],
  ['one long name', size => 'x'.repeat(size)],
  ['spaces inside the list', size => `x-a${' '.repeat(size - 8)},x-b`],
  ['an invalid name at the end', size => `${'x-a, '.repeat(size / 5 - 1)}x/y`]
]

t.test('tens of kilobytes of commas, spaces or duplicates in a preflight are refused without error', async (t) => {
  const listed = await corsApp({ origin: ['https://app.example.com'], allowedHeaders: 'content-type,x-request-id', methods: 'GET,PUT' })
  const reflected = await corsApp({ origin: ['https://app.example.com'], methods: 'GET,PUT' })
  for (const [name, make] of hostileLists) {
    const value = make(64 * 1024)
    const fromList = await listed.app.inject(preflight('/', 'https://app.example.com', 'PUT', value))
    t.equal(fromList.statusCode, 204, name)
    t.equal(fromList.headers['access-control-allow-origin'], 'https://app.example.com')
    t.equal(fromList.headers['access-control-allow-headers'], 'content-type,x-request-id', 'only the listed headers')
    const fromReflect = await reflected.app.inject(preflight('/', 'https://app.example.com', 'PUT', value))
    t.equal(fromReflect.statusCode, 204, name)
    t.equal(fromReflect.headers['access-control-allow-headers'], undefined, 'nothing reflected from an unparsable list')
  }
  const duplicates = 'x-request-id,'.repeat(300)
  const underCap = await listed.app.inject(preflight('/', 'https://app.example.com', 'PUT', duplicates))
  t.equal(underCap.headers['access-control-allow-headers'], 'content-type,x-request-id', 'duplicates under the cap are fine')
})

/**
 * Counts the work parseRequestedHeaders does, weighted by the characters each primitive it uses
 * touches: charCodeAt 1, slice and toLowerCase the result's length, RegExp#test its input's length.
 *
 * Why a count and not a clock: STYLE.md forbids timing thresholds, and a ratio of wall-clock times
 * flakes on a busy machine. The count is deterministic. Linear cost means the count per input
 * character stays under one constant at every size; a parser that rescans (the quadratic trap two
 * CORS libraries fell into, e.g. splitting a run of spaces on a regex of optional spaces around a
 * comma) would see that figure grow with the input, to hundreds of steps per character at 4 KB.
 * The test also checks that the count saw at least one step per character, so that a parser
 * rewritten with primitives this does not count fails loudly instead of passing on a zero.
 */
function parseCounting (value: string): { names: string[] | undefined, work: number } {
  let work = 0
  const string = String.prototype
  const { charCodeAt, slice, toLowerCase } = string
  const regexp = RegExp.prototype
  const { test } = regexp
  string.charCodeAt = function (this: string, index: number) { work += 1; return charCodeAt.call(this, index) }
  string.slice = function (this: string, start?: number, end?: number) {
    const result = slice.call(this, start, end)
    work += result.length
    return result
  }
  string.toLowerCase = function (this: string) { work += this.length; return toLowerCase.call(this) }
  regexp.test = function (this: RegExp, input: string) { work += String(input).length; return test.call(this, input) }
  try {
    return { names: parseRequestedHeaders(value), work }
  } finally {
    Object.assign(string, { charCodeAt, slice, toLowerCase })
    regexp.test = test
  }
}

t.test('parsing Access-Control-Request-Headers costs at most a constant amount of work per character', async (t) => {
  for (const [name, make] of hostileLists) {
    const verdicts = new Set<string>()
    for (const size of [256, 512, 1024, 2048, 4000]) {
      const value = make(size)
      const { names, work } = parseCounting(value)
      t.ok(work >= value.length, `${name} (${value.length}): the count sees the scan (${work})`)
      t.ok(work <= 6 * value.length + 16, `${name} (${value.length}): ${work} steps, at most 6 a character`)
      t.same(names, parseRequestedHeaders(value), 'counting changes nothing')
      verdicts.add(names === undefined ? 'refused' : 'parsed')
    }
    t.equal(verdicts.size, 1, `${name}: the same verdict at every size`)
  }
})

t.test('a list over the cap is refused before it is scanned', async (t) => {
  for (const value of [','.repeat(MAX_REQUEST_HEADERS_LENGTH + 1), ' '.repeat(1024 * 1024), 'x-a,'.repeat(256 * 1024)]) {
    t.same(parseCounting(value), { names: undefined, work: 0 }, `${value.length} characters`)
  }
  t.same(parseCounting('x-a,'.repeat(MAX_REQUEST_HEADERS_LENGTH / 4)).names?.length, MAX_REQUEST_HEADERS_LENGTH / 4, 'the cap itself is fine')
})

// --- Access-Control-Request-Method: lower-case and forbidden methods ------------------------

t.test('lower-case and forbidden request methods get only the methods the policy names', async (t) => {
  const { app } = await corsApp({ origin: ['https://app.example.com'], methods: 'GET,PUT,PATCH', credentials: true },
    app => { app.route({ method: ['GET', 'PUT', 'PATCH'], url: '/', handler: async () => 'ok' }) })
  const page = (method: string) => ({ origin: 'https://app.example.com', credentials: true, method, headers: [] })
  for (const method of ['put', 'patch', 'delete', 'CONNECT', 'TRACE', 'TRACK', 'PUT, DELETE']) {
    const response = await app.inject(preflight('/', 'https://app.example.com', method))
    t.equal(response.statusCode, 204, method)
    t.equal(response.headers['access-control-allow-origin'], 'https://app.example.com')
    t.equal(response.headers['access-control-allow-methods'], 'GET,PUT,PATCH', 'the policy, never the request, names the methods')
    // Fetch standard: methods compare byte for byte; fetch() upper-cases put and delete but not patch.
    t.notOk(preflightPasses(page(method), { status: response.statusCode, headers: response.headers as Record<string, string> }), `a browser refuses ${method}`)
  }
  const upper = await app.inject(preflight('/', 'https://app.example.com', 'PATCH'))
  t.ok(preflightPasses(page('PATCH'), { status: upper.statusCode, headers: upper.headers as Record<string, string> }))
  const refused = await app.inject(preflight('/', 'https://attacker.test', 'put'))
  t.equal(refused.statusCode, 403)
  t.equal(refused.headers['access-control-allow-origin'], undefined)

  const { app: anyMethod } = await corsApp({ origin: ['https://app.example.com'], methods: '*' })
  for (const method of ['CONNECT', 'patch', '__proto__']) {
    const response = await anyMethod.inject(preflight('/', 'https://app.example.com', method))
    t.equal(response.statusCode, 204, method)
    t.equal(response.headers['access-control-allow-methods'], '*')
  }
})

t.test('the hostile preflight fields answer no 5xx from the plugin', async (t) => {
  for (const allowedHeaders of [undefined, 'content-type', '*']) {
    const { app, logs } = await corsApp({ origin: ['https://app.example.com'], methods: 'GET,PUT', allowedHeaders })
    const findings = await runCorsAttacks(app, { allowed: ['https://app.example.com'], routes: [{ url: '/', method: 'PUT' }] })
    t.same(findings, [], String(allowedHeaders))
    t.equal(logs.filter(line => line.level >= 50).length, 0, 'nothing logged as an error')
  }
})

t.test('origins with control characters or line breaks are never echoed into a header', async (t) => {
  const { app } = await corsApp({ origin: ['https://app.example.com'], credentials: true })
  const hostile = attackOrigins(['https://app.example.com']).filter(attack => [...attack.origin].some(char => char < ' ' || char === '\u007f'))
  t.ok(hostile.length >= 4)
  for (const { origin } of hostile) {
    for (const response of [await app.inject(get('/', origin)), await app.inject(preflight('/', origin, 'PUT'))]) {
      t.same(Object.keys(response.headers).filter(name => name.startsWith('access-control-')), [], JSON.stringify(origin))
      t.notOk(Object.values(response.headers).some(value => String(value).includes(ATTACKER_HOST)), 'nothing of the request is echoed')
    }
  }
})
