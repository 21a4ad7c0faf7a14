import t from 'tap'
import { corsApp, get } from './support/app'
import { isPlausibleOrigin, matchesPattern, MAX_ORIGIN_LENGTH, parseConfiguredOrigin, parseOriginPattern, type OriginPattern } from '../lib/origin-syntax'
import { compileOriginAnswer, compileOriginRule } from '../lib/origin-matcher'
import { isAnchored } from '../lib/regexp-anchoring'

async function allowOriginFor (options: Parameters<typeof corsApp>[0], origin: string | undefined): Promise<string | undefined> {
  const { app } = await corsApp(options)
  const response = await app.inject(get('/', origin))
  return response.headers['access-control-allow-origin'] as string | undefined
}

function pattern (value: string): OriginPattern {
  const parsed = parseOriginPattern(value)
  if (parsed.kind !== 'pattern') throw new Error(`not a pattern: ${value}`)
  return parsed.pattern
}

t.test("'*' answers '*' to every request, with or without Origin, and does not vary", async (t) => {
  const { app } = await corsApp({ origin: '*' })
  for (const origin of ['https://any.example', undefined]) {
    const response = await app.inject(get('/', origin))
    t.equal(response.headers['access-control-allow-origin'], '*')
    t.equal(response.headers.vary, undefined)
  }
})

t.test('the default origin is * as in @fastify/cors', async (t) => {
  t.equal(await allowOriginFor(undefined, 'https://any.example'), '*')
})

t.test("'*' inside a list means any origin", async (t) => {
  t.equal(await allowOriginFor({ origin: ['https://a.example', '*'] }, 'https://b.example'), '*')
})

t.test('a single fixed origin is always sent, and the browser compares it', async (t) => {
  const { app } = await corsApp({ origin: 'https://app.example.com' })
  for (const origin of ['https://app.example.com', 'https://other.example', undefined]) {
    const response = await app.inject(get('/', origin))
    t.equal(response.headers['access-control-allow-origin'], 'https://app.example.com', String(origin))
    t.equal(response.headers.vary, undefined, 'one fixed answer needs no Vary')
  }
})

t.test('a list reflects exactly the listed origins and varies on Origin', async (t) => {
  const { app } = await corsApp({ origin: ['https://a.example', 'http://localhost:3000'] })
  const cases: Array<[string, string | undefined]> = [
    ['https://a.example', 'https://a.example'],
    ['http://localhost:3000', 'http://localhost:3000'],
    ['http://a.example', undefined],
    ['https://a.example:8443', undefined],
    ['https://A.example', undefined],
    ['https://a.example.evil.net', undefined],
    ['https://evila.example', undefined],
    ['http://localhost:30001', undefined]
  ]
  for (const [origin, expected] of cases) {
    const response = await app.inject(get('/', origin))
    t.equal(response.headers['access-control-allow-origin'], expected, origin)
    t.equal(response.headers.vary, 'Origin', `${origin} varies`)
  }
  const none = await app.inject(get('/'))
  t.equal(none.headers.vary, 'Origin', 'a response without Origin varies too')
  t.equal(none.headers['access-control-allow-origin'], undefined)
})

t.test('a refused origin gets no CORS headers at all, even with credentials and exposed headers', async (t) => {
  const { app } = await corsApp({ origin: ['https://a.example'], credentials: true, exposedHeaders: ['x-total'] })
  const refused = await app.inject(get('/', 'https://b.example'))
  t.same(Object.keys(refused.headers).filter(name => name.startsWith('access-control-')), [])
  const allowed = await app.inject(get('/', 'https://a.example'))
  t.equal(allowed.headers['access-control-allow-credentials'], 'true')
  t.equal(allowed.headers['access-control-expose-headers'], 'x-total')
})

t.test('lists short and long, compared one by one or hashed, match exactly the listed origins', async (t) => {
  for (const size of [1, 8, 9, 50]) {
    const listed = Array.from({ length: size }, (_, i) => `https://app${i}.example`)
    const rule = compileOriginRule([...listed, 'https://*.example.org'])
    if (rule.type !== 'match') throw new Error('a list compiles to a match rule')
    for (const origin of listed) t.ok(rule.listed.has(origin) && rule.test(origin), `${size}: ${origin}`)
    for (const origin of [`https://app${size}.example`, 'https://app0.example.', 'http://app0.example', 'https://a.example.org']) {
      t.notOk(rule.listed.has(origin), `${size}: ${origin} is not listed`)
    }
    t.ok(rule.test('https://a.example.org'), 'a pattern beside the list still matches')
  }
})

t.test('wildcard patterns match one or more labels, never the apex, and only their scheme and port', async (t) => {
  const { app } = await corsApp({ origin: ['https://*.example.com', 'http://localhost:*', 'https://*.example.org:8443'] })
  const cases: Array<[string, boolean]> = [
    ['https://app.example.com', true],
    ['https://a.b.example.com', true],
    ['https://example.com', false],
    ['http://app.example.com', false],
    ['https://app.example.com:8443', false],
    ['https://evilexample.com', false],
    ['https://app.example.com.evil.net', false],
    ['https://.example.com', false],
    ['https://a..example.com', false],
    ['https://-a.example.com', false],
    ['http://localhost', true],
    ['http://localhost:5173', true],
    ['http://localhost:0', true],
    ['http://localhost:65536', false],
    ['http://localhost:05173', false],
    ['http://localhost:', false],
    ['http://localhost:12ab', false],
    ['http://localhost.evil.net:80', false],
    ['https://localhost:5173', false],
    ['https://api.example.org:8443', true],
    ['https://api.example.org', false],
    ['https://api.example.org:443', false]
  ]
  for (const [origin, allowed] of cases) {
    const response = await app.inject(get('/', origin))
    t.equal(response.headers['access-control-allow-origin'], allowed ? origin : undefined, origin)
  }
})

t.test('a port pattern on an IPv6 host reads the port after the bracket', async (t) => {
  const ipv6 = pattern('http://[::1]:*')
  t.ok(matchesPattern(ipv6, 'http://[::1]:8080'))
  t.ok(matchesPattern(ipv6, 'http://[::1]'))
  t.notOk(matchesPattern(ipv6, 'http://[::2]:8080'))
})

t.test('RegExps are matched against the whole serialized origin', async (t) => {
  const { app } = await corsApp({ origin: /^https:\/\/(?:www\.)?example\.com$/ })
  t.equal((await app.inject(get('/', 'https://www.example.com'))).headers['access-control-allow-origin'], 'https://www.example.com')
  t.equal((await app.inject(get('/', 'https://example.com.evil.net'))).headers['access-control-allow-origin'], undefined)
})

t.test('origin: true reflects any plausible origin except null', async (t) => {
  const { app } = await corsApp({ origin: true })
  t.equal((await app.inject(get('/', 'https://whoever.example'))).headers['access-control-allow-origin'], 'https://whoever.example')
  t.equal((await app.inject(get('/', 'null'))).headers['access-control-allow-origin'], undefined)
  t.equal((await app.inject(get('/'))).headers['access-control-allow-origin'], undefined)
})

t.test('origin: false turns CORS off: no headers, no Vary', async (t) => {
  const { app } = await corsApp({ origin: false })
  const response = await app.inject(get('/', 'https://a.example'))
  t.equal(response.headers['access-control-allow-origin'], undefined)
  t.equal(response.headers.vary, undefined)
})

t.test('null is refused by patterns, RegExps and reflect-all, and allowed only when listed', async (t) => {
  t.equal(await allowOriginFor({ origin: [/.*/, 'https://*.example.com'] }, 'null'), undefined)
  t.equal(await allowOriginFor({ origin: ['null'], strict: false }, 'null'), 'null')
})

t.test('implausible origins are never matched nor reflected, by any rule', async (t) => {
  const hostile = [
    'https://a.example, https://b.example',
    'https://a.example,https://b.example',
    'https://a.example ',
    'https://a.\texample',
    'https://ä.example',
    'https://a.example\u0000',
    'https://' + 'a'.repeat(MAX_ORIGIN_LENGTH) + '.example',
    ''
  ]
  const { app } = await corsApp({ origin: [/.*/, 'https://*.example.com'] })
  const { app: reflectAll } = await corsApp({ origin: true })
  // strict: false keeps even these in the list: listed word for word, they still match nothing.
  const { app: listsThem } = await corsApp({ origin: hostile, strict: false })
  for (const origin of hostile) {
    for (const server of [app, reflectAll, listsThem]) {
      // inject() refuses some of these header values itself; the rule must hold for those it sends.
      const response = await server.inject(get('/', origin)).catch(() => undefined)
      t.equal(response?.headers['access-control-allow-origin'], undefined, JSON.stringify(origin.slice(0, 40)))
    }
  }
})

t.test('two Origin lines, joined by Node, are refused on the wire', async (t) => {
  const { app } = await corsApp({ origin: true })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  const net = await import('node:net')
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end('GET / HTTP/1.1\r\nHost: x\r\nOrigin: https://a.example\r\nOrigin: https://b.example\r\nConnection: close\r\n\r\n')
    })
    let data = ''
    socket.on('data', chunk => { data += String(chunk) })
    socket.on('end', () => resolve(data))
    socket.on('error', reject)
  })
  t.match(raw, /^HTTP\/1\.1 200/)
  t.notMatch(raw.toLowerCase(), /access-control-allow-origin/)
})

t.test('isPlausibleOrigin accepts serialized origins and refuses what browsers never send', async (t) => {
  t.ok(isPlausibleOrigin('https://app.example.com:8443'))
  t.ok(isPlausibleOrigin('null'))
  t.notOk(isPlausibleOrigin('https://a.example, https://b.example'))
  t.notOk(isPlausibleOrigin('x'.repeat(MAX_ORIGIN_LENGTH + 1)))
})

t.test('parseConfiguredOrigin knows canonical forms for special and other schemes', async (t) => {
  t.same(parseConfiguredOrigin('https://app.example.com'), { kind: 'canonical' })
  t.same(parseConfiguredOrigin('chrome-extension://abcdef'), { kind: 'canonical' })
  t.same(parseConfiguredOrigin('http://[::1]:3000'), { kind: 'canonical' })
  t.same(parseConfiguredOrigin('http://localhost:80'), { kind: 'non-canonical', canonical: 'http://localhost' })
  t.equal(parseConfiguredOrigin('https://a.example?x=1').kind, 'invalid')
  t.equal(parseConfiguredOrigin('https://a.example#top').kind, 'invalid')
})

t.test('compileOriginAnswer accepts origin options and refuses values that are not', async (t) => {
  t.equal(compileOriginAnswer(true)?.type, 'match')
  t.equal(compileOriginAnswer(false)?.type, 'off')
  t.equal(compileOriginAnswer('*')?.type, 'any')
  t.equal(compileOriginAnswer('https://a.example')?.type, 'fixed')
  t.equal(compileOriginAnswer('https://*.example.com')?.type, 'match')
  const list = ['https://a.example']
  t.equal(compileOriginAnswer(list), compileOriginAnswer(list), 'an array is compiled once')
  for (const garbage of [undefined, null, 42, 'not an origin\r\n', {}, [1], [true]]) {
    t.equal(compileOriginAnswer(garbage), undefined, JSON.stringify(garbage))
  }
})

t.test('compileOriginRule keeps an invalid pattern (strict: false) from matching anything', async (t) => {
  const rule = compileOriginRule(['https://*.com', 'https://a.example'])
  t.equal(rule.type, 'match')
  if (rule.type === 'match') {
    t.notOk(rule.test('https://evil.com'))
    t.ok(rule.test('https://a.example'))
  }
})

t.test('isAnchored requires ^…$ around every top-level alternative', async (t) => {
  t.ok(isAnchored('^https://a\\.example$'))
  t.ok(isAnchored('^(?:a|b)$'))
  t.ok(isAnchored('^[|]$'))
  t.notOk(isAnchored('https://a\\.example$'))
  t.notOk(isAnchored('^https://a\\.example'))
  t.notOk(isAnchored('^a\\$'))
  t.notOk(isAnchored('^a|b$'))
  t.ok(isAnchored('^a\\\\$'), 'an escaped backslash before $ leaves $ an anchor')
})
