import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, HookHandlerDoneFunction, HTTPMethods } from 'fastify'
import fp from 'fastify-plugin'
import { isThenable } from './ask'
import { shapeForDebug } from './debug-shaping'
import { decide, type PreflightQuery } from './decide'
import { REFLECT, type Decision } from './decision'
import { DenialReporter, denialOf, isRefusal } from './denials'
import { createExplain, type CorsExplainInput, type CorsExplanation } from './explain'
import type { HeaderPair, RouteEntry } from './policy'
import { RouteTable } from './route-table'
import type { CorsOptions, CorsOptionsDelegate } from './schema'
import { buildState, type CorsState, type RouteSlot } from './state'
import { addToVary } from './vary'
import { checkFixedOptions } from './configure'

const kDecision = Symbol('fastify-cors-guard.decision')
const kRouteSlot = Symbol('fastify-cors-guard.route-slot')

type CorsRequest = FastifyRequest & { [kDecision]: Decision | null }

/** `fastify.cors`: the plugin's runtime interface. */
export interface CorsDecorator {
  /** A dry run: what the plugin would answer a browser's request, and why. Sends nothing. */
  explain: (input: CorsExplainInput) => Promise<CorsExplanation>
  /**
   * Validates `options` like `register` and swaps every policy (the plugin's and each route's) at
   * once. A request in flight is decided wholly under the old or the new policy.
   */
  update: (options: CorsOptions) => void
}

// The catch-all OPTIONS route's slot: the plugin's own policy, flagged so the hook recognises it.
const catchAllSlot: RouteSlot = Object.freeze({ overrides: undefined, name: 'OPTIONS *' })

function corsGuard (fastify: FastifyInstance, input: CorsOptions | CorsOptionsDelegate, done: (error?: Error) => void): void {
  const slots: RouteSlot[] = []
  let state: CorsState
  try {
    state = buildState(input, slots, fastify.log)
  } catch (error) {
    // A throw here would escape avvio as an uncaught exception; `done(error)` fails `ready()`.
    done(error as Error)
    return
  }
  const routes = new RouteTable<RouteSlot>(fastify)
  let reporter = new DenialReporter(state.settings.denials)

  fastify.decorateRequest('corsPreflightEnabled', false)
  fastify.decorateRequest(kDecision as unknown as string, null)

  const slotsByConfig = new WeakMap<object, RouteSlot>()
  // Until a route has its own config.cors, every preflight follows the plugin's options, and
  // finding the route it is for would be wasted work.
  let routesWithOverrides = 0
  fastify.addHook('onRoute', (route) => {
    const config = route.config as Record<string | symbol, unknown> | undefined
    if (config?.[kRouteSlot] === catchAllSlot) return
    const overrides = config?.cors
    const name = `route ${String(route.method)} ${route.url}`
    // A GET route and the HEAD route Fastify adds for it share one config.cors object: one slot.
    let slot = typeof overrides === 'object' && overrides !== null ? slotsByConfig.get(overrides) : undefined
    if (slot === undefined) {
      slot = Object.freeze({ overrides, name })
      state.add(slot)
      slots.push(slot)
      if (typeof overrides === 'object' && overrides !== null) slotsByConfig.set(overrides, slot)
    }
    if (overrides !== undefined) {
      route.config = { ...route.config, [kRouteSlot]: slot } as typeof route.config
      routesWithOverrides++
    }
    prependRouteHook(route as unknown as Record<string, unknown>, hookName, routeHook(slot))
    const host = route.constraints?.host
    routes.add(route.method, route.url, host, slot)
    // For a route at a prefix's root, Fastify also serves `prefix + '/'` but runs no onRoute hook
    // for it (prefixTrailingSlash 'both', the default): its preflights must find the same policy.
    const { routePath, prefix, prefixTrailingSlash } = route as typeof route & { routePath: string, prefix: string }
    if (routePath === '' && prefix !== '' && (prefixTrailingSlash ?? 'both') === 'both' && !routes.ignoreTrailingSlash) {
      routes.add(route.method, prefix + '/', host, slot)
    }
  })

  function slotOf (request: FastifyRequest): RouteSlot | undefined {
    const config = request.routeOptions.config as { [kRouteSlot]?: RouteSlot, cors?: unknown }
    const slot = config[kRouteSlot]
    return slot !== undefined || config.cors === undefined ? slot : lateSlot(request, config)
  }

  // Routes declared before the plugin finished loading (`register` not awaited) never reached the
  // onRoute hook. Their config.cors is compiled on their first request, and from then on their
  // preflights find it too; until then those preflights follow the plugin's options (warned at boot).
  const lateSlots = new WeakMap<object, RouteSlot>()
  function lateSlot (request: FastifyRequest, config: { cors?: unknown }): RouteSlot {
    let slot = lateSlots.get(config)
    if (slot === undefined) {
      const { method, url } = request.routeOptions
      slot = Object.freeze({ overrides: config.cors, name: `route ${String(method)} ${url}` })
      try {
        state.add(slot)
      } catch (error) {
        // Too late to fail boot: keep CORS off for the route, the safe side, and say why.
        request.log.error({ err: error }, `fastify-cors-guard: ${(error as Error).message}\nCORS is off for this route until its config.cors is fixed.`)
        slot = Object.freeze({ overrides: false, name: slot.name })
        state.add(slot)
      }
      slots.push(slot)
      lateSlots.set(config, slot)
      routesWithOverrides++
      routes.add(method as HTTPMethods, url as string, undefined, slot)
    }
    return slot
  }

  warnAboutEarlierRoutes(fastify)

  const hookName = state.settings.hook

  /**
   * The route-level hook: decides a request to a route it was built for, with that route's slot at
   * hand, so a request costs no route lookup. It runs after instance-level hooks of its stage; a
   * response sent before it (a 401 from an auth hook) is decided in onSend instead.
   */
  function routeHook (slot: RouteSlot) {
    return function decideForRoute (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
      // Already decided: a preflight handed on by preflightContinue, or a route hook run twice.
      if ((request as CorsRequest)[kDecision] !== null) return next()
      run(request, reply, slot, request.headers.origin, undefined, next)
    }
  }

  /**
   * The instance-level hook: answers preflights before any auth hook or body parsing. It only looks
   * at OPTIONS requests; everything else is left to the route hooks.
   */
  function answerPreflights (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
    if (request.raw.method !== 'OPTIONS' || !state.defaultEntry.policy.preflight) return next()
    const headers = request.headers
    const origin = headers.origin
    const method = headers['access-control-request-method'] as string | undefined
    const requestHeaders = headers['access-control-request-headers'] as string | undefined
    if (origin !== undefined && method !== undefined) {
      const slot = routesWithOverrides === 0 ? undefined : routes.find(method, request.url, headers.host)
      run(request, reply, slot, origin, { method, requestHeaders, incomplete: false }, next)
    } else if (slotOf(request) === catchAllSlot) {
      // An OPTIONS that is not a full preflight is judged as one only on the catch-all route: a
      // user's own OPTIONS route gets it as an ordinary request, through its route hook.
      run(request, reply, catchAllSlot, origin, { method: method ?? 'GET', requestHeaders, incomplete: true }, next)
    } else {
      next()
    }
  }

  function run (
    request: FastifyRequest, reply: FastifyReply, slot: RouteSlot | undefined, origin: string | undefined,
    preflight: PreflightQuery | undefined, next: HookHandlerDoneFunction
  ): void {
    const current = state
    const entry = current.entry(slot)
    const decided = decide(current, entry, origin, preflight, request, fastify)
    if (isThenable(decided)) decided.then(decision => conclude(request, reply, entry, preflight !== undefined, decision, next))
    else conclude(request, reply, entry, preflight !== undefined, decided, next)
  }

  function conclude (request: FastifyRequest, reply: FastifyReply, entry: RouteEntry, preflight: boolean, decision: Decision, next: HookHandlerDoneFunction): void {
    const shaped = record(request, entry, decision, preflight)
    // Set now, as @fastify/cors does, so the handler sees (and may adjust) them.
    applyDecision(request, reply, shaped)
    if (shaped.status === undefined) {
      next()
    } else if (shaped.continuePreflight === true) {
      request.corsPreflightEnabled = true
      next()
    } else {
      // Safari waits for a body on a 204 without Content-Length.
      reply.code(shaped.status)
      if (shaped.body === undefined) reply.header('content-length', '0').send()
      else reply.type('text/plain').send(shaped.body)
    }
  }

  /** Remembers the decision on the request, reports refusals, and shapes them in debug mode. */
  function record (request: FastifyRequest, entry: RouteEntry, decision: Decision, preflight: boolean): Decision {
    let shaped = decision
    if (isRefusal(decision)) {
      reporter.report(request, decision, entry.policy, preflight)
      if (state.settings.debug) shaped = shapeForDebug(decision, entry.policy, denialOf(decision, entry.policy, request, preflight))
    }
    (request as CorsRequest)[kDecision] = shaped
    return shaped
  }

  addCorsHook(fastify, hookName, answerPreflights)

  fastify.addHook('onSend', (request, reply, payload, next) => {
    const decision = (request as CorsRequest)[kDecision]
    if (decision !== null) {
      finishResponse(reply, decision)
      next(null, payload)
      return
    }
    // The CORS hook did not run: an earlier hook answered (a 401 from auth, say), or `hook` names a
    // stage this request never reached. The page must still be able to read that response.
    const current = state
    const entry = current.entry(slotOf(request))
    const decided = decide(current, entry, request.headers.origin, undefined, request, fastify)
    const finish = (late: Decision): void => {
      const shaped = record(request, entry, late, false)
      applyDecision(request, reply, shaped)
      finishResponse(reply, shaped)
      next(null, payload)
    }
    if (isThenable(decided)) decided.then(finish)
    else finish(decided)
  })

  const decorator: CorsDecorator = {
    explain: createExplain(() => state, routes, fastify),
    update (options) {
      checkFixedOptions(state.settings, options)
      const next = buildState(options, slots, fastify.log)
      reporter = new DenialReporter(next.settings.denials)
      state = next
    }
  }
  fastify.decorate('cors', decorator)

  // Preflights are answered in the hook, before auth and body parsing; this route only makes
  // Fastify route OPTIONS requests for every path to that hook.
  const schema = { hide: state.settings.hideOptionsRoute } as FastifySchema
  const config = { [kRouteSlot]: catchAllSlot } as FastifyContextConfig
  fastify.options('*', { schema, config, logLevel: state.settings.logLevel }, answerOptionsRoute)

  done()
}

/** Routes that exist before the plugin loads cannot be seen by its onRoute hook: say so at boot. */
function warnAboutEarlierRoutes (fastify: FastifyInstance): void {
  const tree = fastify.printRoutes({ commonPrefix: false })
  if (tree === '(empty tree)') return
  const routes = routesOf(tree)
  fastify.log.warn({ routes },
    `fastify-cors-guard: ${routes.length} route(s) were declared before the plugin finished loading (${routes.slice(0, 5).join('; ')}${routes.length > 5 ? '; …' : ''}). ` +
    'Their config.cors is checked on their first request instead of at boot, and until then their preflights follow the plugin\'s options. ' +
    'Write `await fastify.register(cors, options)` before declaring routes.')
}

/** Full paths from Fastify's printRoutes() tree, where a child line holds only its own segment. */
function routesOf (tree: string): string[] {
  const parents: string[] = []
  const routes: string[] = []
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(\S*)(?: \((.*)\))?$/.exec(line)
    if (match === null) continue
    const depth = (match[1] as string).length / 4
    const path = (depth === 0 ? '' : parents[depth - 1] as string) + (match[2] as string)
    parents[depth] = path
    if (match[3] !== undefined) routes.push(`${path} (${match[3]})`)
  }
  return routes
}

function answerOptionsRoute (request: FastifyRequest, reply: FastifyReply): void {
  if (request.corsPreflightEnabled) reply.send()
  else reply.callNotFound()
}

type CorsHook = (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => void
type HookName = NonNullable<CorsOptions['hook']>

/** preParsing and preSerialization hooks take and pass on a payload; the others do not. */
function atStage (hook: HookName, handle: CorsHook): (...args: never[]) => void {
  if (hook !== 'preParsing' && hook !== 'preSerialization') return handle as (...args: never[]) => void
  return ((request: FastifyRequest, reply: FastifyReply, payload: unknown, next: (error: Error | null, payload: unknown) => void) => {
    handle(request, reply, () => next(null, payload))
  }) as (...args: never[]) => void
}

function addCorsHook (fastify: FastifyInstance, hook: HookName, handle: CorsHook): void {
  fastify.addHook(hook as 'onRequest', atStage(hook, handle) as CorsHook)
}

/** Puts the plugin's hook first among the route's own hooks of that stage. */
function prependRouteHook (route: Record<string, unknown>, hook: HookName, handle: CorsHook): void {
  const existing = route[hook]
  const own = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]
  route[hook] = [atStage(hook, handle), ...own]
}

function applyDecision (request: FastifyRequest, reply: FastifyReply, decision: Decision): void {
  if (decision.owned) {
    // Refusals carry no headers, except the reason header of debug mode.
    if (decision.allowOrigin !== undefined) reply.header('access-control-allow-origin', decision.allowOrigin === REFLECT ? request.headers.origin : decision.allowOrigin)
    // Indexed, without destructuring: V8 kept the array iterator here (seen in a callgrind profile).
    const headers = decision.headers
    for (let i = 0; i < headers.length; i++) {
      const pair = headers[i] as HeaderPair
      reply.header(pair[0], pair[1])
    }
  }
  if (decision.vary !== undefined) addToVary(reply, decision.vary)
}

const STRAY_HEADERS = ['access-control-allow-origin', 'access-control-allow-credentials'] as const

/**
 * Last look before the response leaves: the handler may have replaced `Vary`, and whatever it set,
 * a refused origin must not be let in by a stray Allow-Origin or Allow-Credentials.
 */
function finishResponse (reply: FastifyReply, decision: Decision): void {
  if (decision.owned && decision.allowOrigin === undefined) {
    for (const name of STRAY_HEADERS) if (reply.hasHeader(name)) reply.removeHeader(name)
  }
  if (decision.vary !== undefined) addToVary(reply, decision.vary)
}

export const corsPlugin = fp(corsGuard, { fastify: '5.x', name: 'fastify-cors-guard' })
