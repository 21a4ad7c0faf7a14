import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { isThenable } from './ask'
import { configure, configureRoute, type Settings } from './configure'
import { REFLECT, type Decision } from './decision'
import { delegatedDecision } from './delegate'
import { decidePreflight } from './preflight'
import { decideOrigin } from './resolve-origin'
import { RouteTable, type RouteEntry } from './route-table'
import type { CorsOptions, CorsOptionsDelegate } from './schema'
import { addToVary } from './vary'
import type { Policy } from './policy'

const kDecision = Symbol('fastify-cors-guard.decision')
const kRouteEntry = Symbol('fastify-cors-guard.route-entry')

type Decided = Decision | Promise<Decision>
type CorsRequest = FastifyRequest & { [kDecision]: Decision | null }

function corsGuard (fastify: FastifyInstance, input: CorsOptions | CorsOptionsDelegate, done: (error?: Error) => void): void {
  let settings: Settings
  try {
    settings = configure(input, fastify.log)
  } catch (error) {
    // A throw here would escape avvio as an uncaught exception; `done(error)` fails `ready()`.
    done(error as Error)
    return
  }
  const defaultEntry = settings.defaultEntry
  const defaultPolicy = defaultEntry.policy
  const routes = new RouteTable(fastify)

  fastify.decorateRequest('corsPreflightEnabled', false)
  fastify.decorateRequest(kDecision as unknown as string, null)

  // The catch-all OPTIONS route carries the default policy, flagged so the hook can recognise it.
  const catchAllEntry: RouteEntry = Object.freeze({ ...defaultEntry, catchAll: true })

  fastify.addHook('onRoute', (route) => {
    const config = route.config as Record<string | symbol, unknown> | undefined
    if (config?.[kRouteEntry] === catchAllEntry) return
    const overrides = config?.cors
    const entry = overrides === undefined
      ? defaultEntry
      : configureRoute(overrides, settings, `route ${String(route.method)} ${route.url}`, fastify.log)
    if (entry !== defaultEntry) route.config = { ...route.config, [kRouteEntry]: entry } as typeof route.config
    routes.add(route.method, route.url, route.constraints?.host, entry)
  })

  function entryOf (request: FastifyRequest): RouteEntry {
    return (request.routeOptions.config as { [kRouteEntry]?: RouteEntry })[kRouteEntry] ?? defaultEntry
  }

  function decide (request: FastifyRequest, entry: RouteEntry, preflightMethod: string | undefined): Decided {
    if (settings.delegator === undefined) return decideUnder(entry.policy, request, preflightMethod)
    return delegatedDecision(settings, entry, request, fastify).then(result =>
      'decisions' in result ? decideUnder(result, request, preflightMethod) : result)
  }

  function decideUnder (policy: Policy, request: FastifyRequest, preflightMethod: string | undefined): Decided {
    const decided = decideOrigin(policy, request.headers.origin, fastify)
    if (preflightMethod === undefined || !policy.enabled || !policy.preflight) return decided
    const requestHeaders = request.headers['access-control-request-headers'] as string | undefined
    return isThenable(decided)
      ? decided.then(decision => decidePreflight(policy, decision, preflightMethod, requestHeaders))
      : decidePreflight(policy, decided, preflightMethod, requestHeaders)
  }

  function handleCors (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction): void {
    let entry: RouteEntry | undefined
    let preflightMethod: string | undefined
    if (request.raw.method === 'OPTIONS' && defaultPolicy.preflight) {
      const requestMethod = request.headers['access-control-request-method'] as string | undefined
      if (request.headers.origin !== undefined && requestMethod !== undefined) {
        preflightMethod = requestMethod
        entry = routes.find(requestMethod, request.url, request.headers.host) ?? defaultEntry
      } else if (entryOf(request) === catchAllEntry) {
        if (defaultPolicy.strictPreflight) {
          reply.code(400).type('text/plain').send('Invalid Preflight Request')
          return
        }
        preflightMethod = requestMethod ?? 'GET'
        entry = defaultEntry
      }
    }
    const decided = decide(request, entry ?? entryOf(request), preflightMethod)
    if (isThenable(decided)) decided.then(decision => conclude(request, reply, decision, next))
    else conclude(request, reply, decided, next)
  }

  function conclude (request: FastifyRequest, reply: FastifyReply, decision: Decision, next: HookHandlerDoneFunction): void {
    (request as CorsRequest)[kDecision] = decision
    logFailure(request, decision)
    if (decision.status === undefined) {
      next()
    } else if (decision.continuePreflight === true) {
      request.corsPreflightEnabled = true
      next()
    } else {
      // Safari waits for a body on a 204 without Content-Length.
      reply.code(decision.status).header('content-length', '0').send()
    }
  }

  addCorsHook(fastify, settings, handleCors)

  fastify.addHook('onSend', (request, reply, payload, next) => {
    const decision = (request as CorsRequest)[kDecision]
    if (decision !== null) {
      applyDecision(request, reply, decision)
      next(null, payload)
      return
    }
    // The CORS hook did not run: an earlier hook answered (a 401 from auth, say), or `hook` names a
    // stage this request never reached. The page must still be able to read that response.
    const decided = decide(request, entryOf(request), undefined)
    const finish = (late: Decision): void => {
      logFailure(request, late)
      applyDecision(request, reply, late)
      next(null, payload)
    }
    if (isThenable(decided)) decided.then(finish)
    else finish(decided)
  })

  // Preflights are answered in the hook, before auth and body parsing; this route only makes
  // Fastify route OPTIONS requests for every path to that hook.
  const schema = { hide: settings.hideOptionsRoute } as FastifySchema
  const config = { [kRouteEntry]: catchAllEntry } as FastifyContextConfig
  fastify.options('*', { schema, config, logLevel: settings.logLevel }, answerOptionsRoute)

  done()
}

function answerOptionsRoute (request: FastifyRequest, reply: FastifyReply): void {
  if (request.corsPreflightEnabled) reply.send()
  else reply.callNotFound()
}

function addCorsHook (fastify: FastifyInstance, settings: Settings, handleCors: (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => void): void {
  if (settings.hook === 'preParsing' || settings.hook === 'preSerialization') {
    fastify.addHook(settings.hook as 'preSerialization', (request, reply, payload, next) => {
      handleCors(request, reply, () => next(null, payload))
    })
  } else {
    fastify.addHook(settings.hook as 'onRequest', handleCors)
  }
}

const STRAY_HEADERS = ['access-control-allow-origin', 'access-control-allow-credentials'] as const

function applyDecision (request: FastifyRequest, reply: FastifyReply, decision: Decision): void {
  if (decision.owned) {
    const allowOrigin = decision.allowOrigin
    if (allowOrigin === undefined) {
      // Whatever a handler set, a refused origin must not be allowed by a stray header.
      for (const name of STRAY_HEADERS) if (reply.hasHeader(name)) reply.removeHeader(name)
    } else {
      reply.header('access-control-allow-origin', allowOrigin === REFLECT ? request.headers.origin : allowOrigin)
      for (const [name, value] of decision.headers) reply.header(name, value)
    }
  }
  if (decision.vary !== undefined) addToVary(reply, decision.vary)
}

function logFailure (request: FastifyRequest, decision: Decision): void {
  if (decision.reason === 'origin-resolver-failed' || decision.reason === 'invalid-delegated-options') {
    request.log.error({ cors: { reason: decision.reason, detail: decision.detail } },
      `fastify-cors-guard: request denied because ${decision.detail}`)
  }
}

export const corsPlugin = fp(corsGuard, { fastify: '5.x', name: 'fastify-cors-guard' })
