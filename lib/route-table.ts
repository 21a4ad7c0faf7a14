import FindMyWay from 'find-my-way'
import type { FastifyInstance, HTTPMethods } from 'fastify'

/**
 * A shadow of Fastify's router that answers "which route would serve method M at URL U?" for
 * preflights: they arrive as OPTIONS and hit the catch-all route, yet must be decided by the
 * policy of the route the browser is about to call.
 */
export class RouteTable<T> {
  readonly #router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>

  readonly ignoreTrailingSlash: boolean

  constructor (fastify: FastifyInstance) {
    // Mirror the options of Fastify's own router, so both pick the same route for a URL. Fastify 5
    // takes them in `routerOptions` (the top-level keys are deprecated) and reports both.
    const config = fastify.initialConfig as typeof fastify.initialConfig & { routerOptions?: Record<string, unknown> }
    const option = <K extends keyof typeof config>(key: K): unknown => config.routerOptions?.[key] ?? config[key]
    this.ignoreTrailingSlash = option('ignoreTrailingSlash') === true
    this.#router = FindMyWay({
      caseSensitive: option('caseSensitive'),
      ignoreTrailingSlash: this.ignoreTrailingSlash,
      ignoreDuplicateSlashes: option('ignoreDuplicateSlashes'),
      maxParamLength: option('maxParamLength'),
      allowUnsafeRegex: true,
      useSemicolonDelimiter: option('useSemicolonDelimiter')
    } as FindMyWay.Config<FindMyWay.HTTPVersion.V1>)
  }

  add (methods: HTTPMethods | HTTPMethods[], url: string, host: unknown, value: T): void {
    const constraints = typeof host === 'string' || host instanceof RegExp ? { host } : {}
    for (const method of Array.isArray(methods) ? methods : [methods]) {
      // Fastify already refused true duplicates; what is left (custom constraints, methods
      // find-my-way does not know) keeps the plugin's own policy for preflights.
      try {
        this.#router.on(method as FindMyWay.HTTPMethod, url, { constraints }, () => value)
      } catch {}
    }
  }

  /** `host` is the request's Host header, for routes constrained to a host, as Fastify does. */
  find (method: string, url: string, host: string | undefined): T | undefined {
    const found = this.#router.find(method as FindMyWay.HTTPMethod, url, { host } as { host: string })
    // Each route's handler in this router just hands back its value.
    return (found?.handler as (() => T) | undefined)?.()
  }
}
