// Which CORS plugin the browser suite drives.
//
// By default: ours (lib/index). `CORS_E2E_PLUGIN=@fastify/cors` drives the reference plugin
// instead, to check the harness itself: the tests whose expectations deliberately differ from
// @fastify/cors are then run as `todo`, with the reason (see `differsFromReference`).
//
// The plugin is loaded at run time, so a reference run executes nothing from lib/.
import { createRequire } from 'node:module'
import type { FastifyPluginCallback } from 'fastify'
import type { CorsOptions } from '../../lib/index'

export const USING_REFERENCE = process.env.CORS_E2E_PLUGIN === '@fastify/cors'

// Type-only: the options the tests write are checked against our schema by tsc.
export type { CorsOptions }

const load = createRequire(__filename)

export function corsPlugin (): FastifyPluginCallback<CorsOptions> {
  const loaded = load(USING_REFERENCE ? '@fastify/cors' : '../../lib/index') as
    { default?: FastifyPluginCallback<CorsOptions> }
  if (loaded.default === undefined) throw new Error('the CORS plugin module has no default export')
  return loaded.default
}

/**
 * Test options for behaviour where our plugin deliberately differs from @fastify/cors: a todo
 * (with the reason) when the suite drives the reference, a plain test otherwise.
 */
export function differsFromReference (reason: string): { todo?: string } {
  return USING_REFERENCE ? { todo: `@fastify/cors differs: ${reason}` } : {}
}
