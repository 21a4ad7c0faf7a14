import type { RouteCorsOptions } from '../lib/schema'

/** A route's CORS policy: `false` turns CORS off, an object overrides the plugin's options. */
export type RouteCorsConfig = RouteCorsOptions | false

declare module 'fastify' {
  interface FastifyContextConfig {
    cors?: RouteCorsConfig
  }
  interface FastifyRequest {
    /** `true` when fastify-cors-guard answered this OPTIONS request as a preflight (as in @fastify/cors). */
    corsPreflightEnabled: boolean
  }
}
