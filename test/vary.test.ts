import t from 'tap'
import { corsApp, get, preflight } from './support/app'
import { mergeVary } from '../lib/vary'

t.test('Vary: Origin is added to what the handler set, without duplicates', async (t) => {
  const { app } = await corsApp({ origin: ['https://a.example'] }, (app) => {
    app.get('/encoded', async (_request, reply) => { reply.header('vary', 'Accept-Encoding'); return 'x' })
    app.get('/already', async (_request, reply) => { reply.header('vary', 'accept-encoding, origin'); return 'x' })
    app.get('/star', async (_request, reply) => { reply.header('vary', '*'); return 'x' })
    app.get('/list', async (_request, reply) => { reply.header('vary', ['Accept', 'Cookie']); return 'x' })
    app.get('/empty', async (_request, reply) => { reply.header('vary', ''); return 'x' })
  })
  const cases: Array<[string, string]> = [
    ['/encoded', 'Accept-Encoding, Origin'],
    ['/already', 'accept-encoding, origin'],
    ['/star', '*'],
    ['/list', 'Accept, Cookie, Origin'],
    ['/empty', 'Origin']
  ]
  for (const [url, vary] of cases) {
    for (const origin of ['https://a.example', 'https://refused.example', undefined]) {
      t.equal((await app.inject(get(url, origin))).headers.vary, vary, `${url} from ${String(origin)}`)
    }
  }
})

t.test("a request's own Vary header never reaches the response", async (t) => {
  const { app } = await corsApp({ origin: ['https://a.example'] })
  const response = await app.inject({ method: 'GET', url: '/', headers: { origin: 'https://a.example', vary: '*, Cookie' } })
  t.equal(response.headers.vary, 'Origin')
})

t.test('answers that do not depend on the origin carry no Vary: Origin', async (t) => {
  for (const origin of ['*', 'https://fixed.example'] as const) {
    const { app } = await corsApp({ origin })
    t.equal((await app.inject(get('/', 'https://a.example'))).headers.vary, undefined, origin)
  }
})

t.test('preflights vary on the request headers when they are reflected or matched against *', async (t) => {
  const { app: reflect } = await corsApp({ origin: '*' })
  t.equal((await reflect.inject(preflight('/', 'https://a.example', 'PUT', 'x-a'))).headers.vary, 'Access-Control-Request-Headers')
  const { app: listed } = await corsApp({ origin: '*', allowedHeaders: ['x-a'] })
  t.equal((await listed.inject(preflight('/', 'https://a.example', 'PUT', 'x-a'))).headers.vary, undefined)
})

t.test('mergeVary adds only missing names, keeps * and remembers merges within a bound', async (t) => {
  t.equal(mergeVary('Accept', 'Origin, Access-Control-Request-Headers'), 'Accept, Origin, Access-Control-Request-Headers')
  t.equal(mergeVary('origin', 'Origin, Access-Control-Request-Headers'), 'origin, Access-Control-Request-Headers')
  t.equal(mergeVary(' , ', 'Origin'), 'Origin')
  t.equal(mergeVary('Accept, *', 'Origin'), '*')
  const wrong = Array.from({ length: 300 }, (_, i) => i).filter(i => mergeVary(`X-${i}`, 'Origin') !== `X-${i}, Origin`)
  t.same(wrong, [], 'still right after the bounded cache is cleared')
})
