import t from 'tap'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import corsPlugin from '../lib/index'
import { doctor } from './support/doctor'

const allowed = 'http://a.test'

t.test('the doctor against a Fastify server using our plugin', async (t) => {
  const app = Fastify()
  const methodsHandled: string[] = []
  await app.register(corsPlugin, { origin: [allowed], methods: ['GET', 'PUT'], credentials: true })
  app.get('/items', async () => { methodsHandled.push('GET'); return [] })
  app.put('/items', async () => { methodsHandled.push('PUT'); return { saved: true } })
  app.delete('/items', async () => { methodsHandled.push('DELETE'); return { deleted: true } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/items`
  t.beforeEach(() => { methodsHandled.length = 0 })

  t.test('a credentialed GET from the allowed origin is allowed, with Vary: Origin and no warning', async (t) => {
    const result = await doctor(['check', url, '--origin', allowed, '--credentials', '--json'])
    t.equal(result.code, 0)
    const report = JSON.parse(result.stdout)
    t.equal(report.verdict, 'allowed')
    t.match(report.steps, [{
      step: 'actual',
      response: { headers: { 'access-control-allow-origin': allowed, 'access-control-allow-credentials': 'true', vary: /origin/i } }
    }])
    t.same(report.warnings, [])
    t.same(methodsHandled, ['GET'])
  })

  t.test('a credentialed PUT passes the preflight and reaches the handler', async (t) => {
    const result = await doctor(['check', url, '--origin', allowed, '--method', 'put', '--credentials'])
    t.equal(result.code, 0)
    t.match(result.stdout, /^ALLOWED/)
    t.match(result.stdout, /Preflight: OPTIONS .* -> 2\d\d, passed/)
    t.same(methodsHandled, ['PUT'])
  })

  t.test('a DELETE fails the preflight and never reaches the handler', async (t) => {
    const result = await doctor(['check', url, '--origin', allowed, '--method', 'DELETE', '--credentials'])
    t.equal(result.code, 1)
    t.match(result.stdout, 'the preflight failed: the method DELETE is not in Access-Control-Allow-Methods')
    t.same(methodsHandled, [])
  })

  t.test('another origin is blocked with the header the server would have to send', async (t) => {
    const result = await doctor(['check', url, '--origin', 'http://b.test', '--credentials'])
    t.equal(result.code, 1)
    t.match(result.stdout, 'the server must answer with Access-Control-Allow-Origin: http://b.test')
  })
})
