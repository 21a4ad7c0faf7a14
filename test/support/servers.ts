// The two servers of a browser test: the page origin (node:http on 127.0.0.1, serving one blank
// page) and the API (Fastify on localhost with the CORS plugin under test), which records every
// request it sees. Different hosts, so every fetch from the page is cross-origin.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { LIMITS, within } from './bounds'
import { corsPlugin, type CorsOptions } from './cors-plugin'

const PAGE_HTML = '<!doctype html><html><head><meta charset="utf-8"><title>cors e2e</title>' +
  '<link rel="icon" href="data:,"></head><body><p>page origin</p></body></html>'

export interface PageOrigin {
  /** e.g. http://127.0.0.1:40123 — exactly what the browser sends as `Origin`. */
  origin: string
  close: () => Promise<void>
}

export async function startPageOrigin (): Promise<PageOrigin> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      res.end(PAGE_HTML)
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

export interface RequestRecord {
  method: string
  path: string
  origin: string | undefined
  /** An OPTIONS carrying Access-Control-Request-Method: a CORS preflight. */
  preflight: boolean
  requestMethod: string | undefined
  requestHeaders: string | undefined
  /** The route that served it (undefined for the 404 handler). */
  route: string | undefined
  /** Whether the request got past every onRequest hook to its route handler's preHandler stage. */
  handlerRan: boolean
  /** Filled in when the response has been sent. */
  status: number | undefined
  responseHeaders: Record<string, string>
}

export interface Api {
  app: FastifyInstance
  /** http://localhost:<port> */
  origin: string
  url: (path: string) => string
  requests: RequestRecord[]
  /** Waits (bounded) until every request the server has seen has been answered. */
  settled: () => Promise<RequestRecord[]>
  preflights: (path: string) => RequestRecord[]
  /** Requests to `path` that are not preflights. */
  actual: (path: string) => RequestRecord[]
}

export interface ApiSetup {
  /** Options for the CORS plugin; `false` registers no CORS plugin at all. */
  cors: CorsOptions | false
  /** Declares routes and hooks; it runs after the plugin is registered. */
  routes: (app: FastifyInstance) => void
}

/** The `access-control-*` headers of a recorded response. */
export function accessControlHeaders (record: RequestRecord | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(record?.responseHeaders ?? {})
    .filter(([name]) => name.startsWith('access-control-')))
}

export async function startApi (t: Test, setup: ApiSetup): Promise<Api> {
  const app = Fastify({ logger: false })
  const requests: RequestRecord[] = []
  const byRequest = new WeakMap<object, RequestRecord>()
  let pending = 0
  let onIdle: (() => void) | undefined

  // Registered before the plugin so they see the preflights it answers in its own hooks.
  app.addHook('onRequest', async (request) => {
    const record: RequestRecord = {
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      origin: request.headers.origin,
      preflight: request.method === 'OPTIONS' &&
        request.headers['access-control-request-method'] !== undefined,
      requestMethod: request.headers['access-control-request-method'] as string | undefined,
      requestHeaders: request.headers['access-control-request-headers'] as string | undefined,
      route: request.is404 ? undefined : request.routeOptions.url,
      handlerRan: false,
      status: undefined,
      responseHeaders: {}
    }
    requests.push(record)
    byRequest.set(request, record)
    pending++
  })
  app.addHook('preHandler', async (request) => {
    const record = byRequest.get(request)
    if (record !== undefined && !request.is404) record.handlerRan = true
  })
  app.addHook('onResponse', async (request, reply) => {
    const record = byRequest.get(request)
    if (record === undefined) return
    record.status = reply.statusCode
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) record.responseHeaders[name.toLowerCase()] = String(value)
    }
    pending--
    if (pending === 0) onIdle?.()
  })

  if (setup.cors !== false) await app.register(corsPlugin(), setup.cors)
  setup.routes(app)
  await app.listen({ host: 'localhost', port: 0 })
  t.teardown(() => app.close())

  const { port } = app.server.address() as AddressInfo
  const origin = `http://localhost:${port}`
  return {
    app,
    origin,
    url: (path) => origin + path,
    requests,
    settled: async () => {
      if (pending > 0) {
        await within(new Promise<void>((resolve) => { onIdle = resolve }), LIMITS.settle,
          `the API to answer ${pending} request(s)`)
        onIdle = undefined
      }
      return requests
    },
    preflights: (path) => requests.filter((r) => r.path === path && r.preflight),
    actual: (path) => requests.filter((r) => r.path === path && !r.preflight)
  }
}
