import Fastify, { type FastifyInstance, type FastifyServerOptions, type InjectOptions, type LightMyRequestResponse } from 'fastify'
import { Writable } from 'node:stream'
import corsPlugin, { type CorsOptions, type CorsOptionsDelegate } from '../../lib/index'

export interface LogLine { level: number, msg: string, [key: string]: unknown }

/** A Fastify app whose log lines are kept in memory, so tests can assert what was logged. */
export function appWithLog (options: FastifyServerOptions = {}): { app: FastifyInstance, logs: LogLine[] } {
  const logs: LogLine[] = []
  const stream = new Writable({
    write (chunk, _encoding, callback) {
      logs.push(JSON.parse(String(chunk)))
      callback()
    }
  })
  const app = Fastify({ ...options, logger: { level: 'trace', stream } })
  return { app, logs }
}

/** Registers the plugin, adds `routes`, and waits until the app is ready. */
export async function corsApp (
  options?: CorsOptions | CorsOptionsDelegate,
  routes: (app: FastifyInstance) => void = defaultRoutes,
  serverOptions: FastifyServerOptions = {}
): Promise<{ app: FastifyInstance, logs: LogLine[] }> {
  const { app, logs } = appWithLog(serverOptions)
  await app.register(corsPlugin, options as CorsOptions)
  routes(app)
  await app.ready()
  return { app, logs }
}

export function defaultRoutes (app: FastifyInstance): void {
  app.get('/', async () => ({ ok: true }))
  app.put('/', async () => ({ ok: true }))
}

export function preflight (url: string, origin: string | undefined, method: string, requestHeaders?: string): InjectOptions {
  const headers: Record<string, string> = { 'access-control-request-method': method }
  if (origin !== undefined) headers.origin = origin
  if (requestHeaders !== undefined) headers['access-control-request-headers'] = requestHeaders
  return { method: 'OPTIONS', url, headers }
}

export function get (url: string, origin?: string): InjectOptions {
  return { method: 'GET', url, headers: origin === undefined ? {} : { origin } }
}

/** The Access-Control-* headers of a response, for compact assertions. */
export function corsHeaders (response: LightMyRequestResponse): Record<string, string> {
  const result: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) {
    if (name.startsWith('access-control-')) result[name] = String(value)
  }
  return result
}
