import type { CorsDecorator } from '../lib/plugin'
import type { RouteCorsOptions } from '../lib/schema'

/**
 * A route's CORS policy: `false` turns CORS off, an object overrides the plugin's options.
 * (`& object` keeps primitives such as `'yes'` out of Fastify's inferred route config.)
 */
export type RouteCorsConfig = (RouteCorsOptions & object) | false

declare module 'fastify' {
  interface FastifyContextConfig {
    cors?: RouteCorsConfig
  }
  interface FastifyRequest {
    /** `true` when fastify-cors-guard answered this OPTIONS request as a preflight (as in @fastify/cors). */
    corsPreflightEnabled: boolean
  }
  interface FastifyInstance {
    /** fastify-cors-guard at run time: `explain()` a decision, `update()` the options. */
    cors: CorsDecorator
  }
}
