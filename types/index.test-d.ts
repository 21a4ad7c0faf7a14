// Type tests: compiled, never run (`npm run build`, then `npm run test:types`). They import the
// package by its own name, so they check what users get through package.json "exports". This file
// is CommonJS (the package's "type"), so that is the `require` branch: dist/index.d.ts.
// Every `@ts-expect-error` line must fail to compile; if one starts compiling, tsc reports it.
import Fastify, { type FastifyContextConfig, type FastifyInstance } from 'fastify'
import corsPlugin, {
  CONFIG_ERROR_CODE,
  CorsConfigError,
  corsPlugin as namedCorsPlugin,
  fastifyCorsGuard,
  problemCodes,
  type ConfigProblem,
  type CorsOptions,
  type CorsOptionsDelegate,
  type DelegatedCorsOptions,
  type OriginFunction,
  type ProblemCode,
  type RouteCorsConfig
} from 'fastify-cors-guard'
import corsRequired = require('fastify-cors-guard')

function expectType<T> (value: T): T {
  return value
}

/** true only when A and B are the same type (`any` is not the same as `boolean`). */
type Exactly<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectExactly<A, B> (proof: Exactly<A, B>): Exactly<A, B> {
  return proof
}

const app = Fastify()

// --- exports ---------------------------------------------------------------------------------

expectType<typeof corsPlugin>(namedCorsPlugin)
expectType<typeof corsPlugin>(fastifyCorsGuard)
expectType<'CORS_GUARD_INVALID_CONFIG'>(CONFIG_ERROR_CODE)
expectType<ProblemCode>(problemCodes.WILDCARD_WITH_CREDENTIALS)

// `import x = require()`, as TypeScript code written for @fastify/cors may say: the CommonJS
// module is the plugin itself, with the named exports as its properties.
app.register(corsRequired, { origin: 'https://app.example.com' })
expectType<typeof corsPlugin>(corsRequired.default)
expectType<typeof corsPlugin>(corsRequired.corsPlugin)
expectType<typeof CorsConfigError>(corsRequired.CorsConfigError)
expectType<corsRequired.CorsOptions>({ origin: true })
// @ts-expect-error an unknown option (a typo) must not compile through this import either
app.register(corsRequired, { orgin: '*' })

// --- registering ------------------------------------------------------------------------------

app.register(corsPlugin)
app.register(corsPlugin, {})
app.register(namedCorsPlugin, { origin: 'https://app.example.com' })
app.register(fastifyCorsGuard, { origin: ['https://app.example.com', /^https:\/\/(?:a|b)\.example\.com$/] })
app.register(corsPlugin, {
  origin: ['https://app.example.com'],
  methods: ['GET', 'PUT'],
  allowedHeaders: 'content-type, x-request-id',
  exposedHeaders: ['x-total'],
  credentials: true,
  maxAge: 600,
  cacheControl: 'public, max-age=600',
  preflightContinue: false,
  optionsSuccessStatus: 200,
  deniedPreflightStatus: 403,
  preflight: true,
  strictPreflight: false,
  hook: 'preHandler',
  hideOptionsRoute: false,
  logLevel: 'warn',
  strict: true
})
// Fastify's options-function form. The parameter needs its type: the options type includes the
// delegator (another function), so TypeScript infers none (TS7006); @fastify/cors has the same quirk.
app.register(corsPlugin, (instance: FastifyInstance) => ({ origin: instance.initialConfig.http2 === true ? '*' : ['https://app.example.com'] }))
app.register(corsPlugin, { prefix: '/api', origin: '*' })

// @ts-expect-error an unknown option (a typo) must not compile in an object literal
app.register(corsPlugin, { orgin: '*' })
// @ts-expect-error options are an object, not a string
app.register(corsPlugin, 'https://app.example.com')

// --- origin -----------------------------------------------------------------------------------

const origins: Array<CorsOptions['origin']> = [
  '*',
  'https://app.example.com',
  'https://*.example.com',
  true,
  false,
  /^https:\/\/app\.example\.com$/,
  ['https://app.example.com', /^https:\/\/[a-z]+\.example\.com$/],
  undefined
]
expectType<unknown[]>(origins)

app.register(corsPlugin, {
  origin: async (origin) => {
    expectType<string | undefined>(origin)
    return origin === 'https://app.example.com'
  }
})
app.register(corsPlugin, { origin: async () => ['https://app.example.com'] })
app.register(corsPlugin, { origin: async () => /^https:\/\/app\.example\.com$/ })
app.register(corsPlugin, { origin: async () => 'https://app.example.com' })
app.register(corsPlugin, {
  origin: (origin, callback) => {
    if (origin === undefined) callback(new Error('no origin'))
    else callback(null, origin.endsWith('.example.com'))
  }
})
const namedOrigin: OriginFunction = (_origin, callback) => callback(null, ['https://app.example.com'])
app.register(corsPlugin, { origin: namedOrigin })

// @ts-expect-error a number is no origin
app.register(corsPlugin, { origin: 42 })
// @ts-expect-error an origin function answers an origin option, not a number
app.register(corsPlugin, { origin: async () => 42 })
// @ts-expect-error the callback takes an error (or null) first
app.register(corsPlugin, { origin: (_origin, callback) => callback(true) }) // eslint-disable-line n/no-callback-literal
// @ts-expect-error arrays hold strings and RegExps only
app.register(corsPlugin, { origin: ['https://app.example.com', true] })

// --- methods, headers, numbers --------------------------------------------------------------------

app.register(corsPlugin, { methods: 'GET,POST,PUT' })
app.register(corsPlugin, { methods: ['GET', 'POST', 'PUT'] })
app.register(corsPlugin, { allowedHeaders: null, exposedHeaders: null, maxAge: null })
app.register(corsPlugin, { cacheControl: 600 })

// @ts-expect-error methods are strings
app.register(corsPlugin, { methods: 5 })
// @ts-expect-error methods are strings
app.register(corsPlugin, { methods: ['GET', 5] })
// @ts-expect-error allowedHeaders are strings
app.register(corsPlugin, { allowedHeaders: true })
// @ts-expect-error credentials is a boolean
app.register(corsPlugin, { credentials: 'true' })
// @ts-expect-error maxAge is a number of seconds
app.register(corsPlugin, { maxAge: '600' })
// @ts-expect-error cacheControl is seconds or a header value
app.register(corsPlugin, { cacheControl: true })
// @ts-expect-error logLevel is one of pino's level names
app.register(corsPlugin, { logLevel: 'verbose' })

// --- hook -------------------------------------------------------------------------------------

const hooks: Array<CorsOptions['hook']> = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization']
expectType<unknown[]>(hooks)
for (const hook of hooks) app.register(corsPlugin, { hook })

// @ts-expect-error onSend is too late to answer a preflight
app.register(corsPlugin, { hook: 'onSend' })
// @ts-expect-error hook names are case-sensitive
app.register(corsPlugin, { hook: 'prehandler' })

// --- delegator ----------------------------------------------------------------------------------

app.register(corsPlugin, {
  delegator: (request, callback) => {
    expectType<string | undefined>(request.headers.origin)
    // @ts-expect-error the request is a FastifyRequest, not any
    expectType<number>(request.headers)
    callback(null, { origin: request.headers.origin === 'https://app.example.com', credentials: true })
  }
})
app.register(corsPlugin, {
  methods: ['GET', 'PUT'],
  delegator: async (request) => ({ origin: request.url.startsWith('/public') ? '*' : ['https://app.example.com'] })
})
const delegator: CorsOptionsDelegate = async () => ({ origin: true })
// The @fastify/cors README's form: an options function that returns the delegator.
app.register(corsPlugin, () => delegator)
const delegated: DelegatedCorsOptions = { origin: ['https://app.example.com'], maxAge: 60 }
expectType<DelegatedCorsOptions>(delegated)

// @ts-expect-error plugin-wide settings cannot come from a delegator
app.register(corsPlugin, { delegator: async () => ({ hook: 'preHandler' }) })
// @ts-expect-error a delegator answers an options object
app.register(corsPlugin, { delegator: async () => true })

// --- route config -----------------------------------------------------------------------------

app.get('/off', { config: { cors: false } }, async () => 'no CORS here')
app.get('/partners', { config: { cors: { origin: ['https://partner.example'], credentials: true } } }, async () => 'partners')
app.put('/partners', { config: { cors: { origin: ['https://partner.example'], methods: ['PUT'], maxAge: 60 } } }, async () => 'ok')
app.get('/no-cors-config', { config: {} }, async () => 'plugin defaults')
const routeConfig: RouteCorsConfig = { origin: 'https://partner.example' }
app.get('/typed', { config: { cors: routeConfig } }, async () => 'typed')

// @ts-expect-error config.cors is false or an options object
const notACorsConfig: FastifyContextConfig = { cors: 'yes' }
// @ts-expect-error config.cors: true means nothing; leave it out for the plugin's options
const notTrue: FastifyContextConfig = { cors: true }
// @ts-expect-error plugin-wide settings cannot be set per route
const noHook: FastifyContextConfig = { cors: { hook: 'preHandler' } }
// @ts-expect-error route options are checked like the plugin's
const typo: FastifyContextConfig = { cors: { orgin: '*' } }
expectType<unknown[]>([notACorsConfig, notTrue, noHook, typo])

// Inside a route's options, wrong option values are refused...
// @ts-expect-error an origin is no number
app.get('/number', { config: { cors: { origin: 42 } } }, async () => 'x')
// @ts-expect-error methods are strings
app.put('/methods', { config: { cors: { methods: [1] } } }, async () => 'x')
// @ts-expect-error config.cors is false or an options object, also inside a route's options
app.get('/yes', { config: { cors: 'yes' } }, async () => 'x')
// @ts-expect-error config.cors: true means nothing
app.get('/true', { config: { cors: true } }, async () => 'x')
// KNOWN HOLE: an unknown key inside a route's `cors` object literal (`{ cors: { orgin: '*' } }`)
// still compiles in app.get/app.route: Fastify infers its ContextConfig generic from the literal,
// so excess-property checks do not apply there. The plugin refuses it when the route is added.

// --- request decoration ---------------------------------------------------------------------

app.options('/items', async (request) => {
  expectType<boolean>(request.corsPreflightEnabled)
  expectExactly<typeof request.corsPreflightEnabled, boolean>(true)
  // @ts-expect-error it is a boolean, not any
  const text: string = request.corsPreflightEnabled
  return { preflight: request.corsPreflightEnabled, text }
})

// --- errors -----------------------------------------------------------------------------------

function describe (error: unknown): string[] {
  if (!(error instanceof CorsConfigError)) return []
  expectType<Error>(error)
  expectType<'CORS_GUARD_INVALID_CONFIG'>(error.code)
  expectExactly<typeof error.problems, readonly ConfigProblem[]>(true)
  // @ts-expect-error the problem list is read-only
  error.problems.push(error.problems[0])
  return error.problems.map((problem) => {
    expectType<ProblemCode>(problem.code)
    expectType<'error' | 'unsafe' | 'warning'>(problem.severity)
    return `${problem.path}: ${problem.message}`
  })
}
expectType<string[]>(describe(new Error('x')))
