import { Kind, Type, TypeRegistry, type Static, type TSchema } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import type { CorsDenial } from './denials'

// TypeBox has no built-in schema for RegExp instances; register a kind that checks `instanceof`.
const REGEXP_KIND = 'FastifyCorsGuardRegExp'
if (!TypeRegistry.Has(REGEXP_KIND)) TypeRegistry.Set(REGEXP_KIND, (_schema, value) => value instanceof RegExp)
const RegExpInstance = Type.Unsafe<RegExp>({ [Kind]: REGEXP_KIND })

const HeaderList = Type.Union([Type.String(), Type.Array(Type.String())], {
  description: 'a comma-separated string or an array of strings'
})

/** What an origin function may answer: the same forms as the static `origin` option. */
export const OriginAnswerSchema = Type.Union([
  Type.String(),
  Type.Boolean(),
  RegExpInstance,
  Type.Array(Type.Union([Type.String(), RegExpInstance]))
])
export type OriginAnswer = Static<typeof OriginAnswerSchema>

export type OriginCallback = (error: Error | null, answer?: OriginAnswer) => void

/** `(origin, callback) => void` or `async (origin) => answer`; called only for valid origins. */
export type OriginFunction = (origin: string | undefined, callback: OriginCallback) => void | OriginAnswer | Promise<OriginAnswer>

// Function types are written by hand, for readable parameter names; the schema checks for a function.
const OriginFunctionSchema = Type.Unsafe<OriginFunction>(Type.Function([], Type.Unknown()))

const OriginSchema = Type.Union([OriginAnswerSchema, OriginFunctionSchema], {
  description: "a string ('*', an origin such as 'https://app.example.com', or a pattern such as " +
    "'https://*.example.com'), a boolean, a RegExp, an array of strings and RegExps, or a function"
})

const Status = (minimum: number, maximum: number, description: string) =>
  Type.Integer({ minimum, maximum, description })

/** The options a route may override under `config.cors`. */
const policyProperties = {
  origin: Type.Optional(OriginSchema),
  methods: Type.Optional(HeaderList),
  allowedHeaders: Type.Optional(Type.Union([HeaderList, Type.Null()], { description: HeaderList.description })),
  exposedHeaders: Type.Optional(Type.Union([HeaderList, Type.Null()], { description: HeaderList.description })),
  credentials: Type.Optional(Type.Boolean({ description: 'a boolean' })),
  maxAge: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
    description: 'a whole number of seconds, 0 or more'
  })),
  cacheControl: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1 })], {
    description: "a whole number of seconds, 0 or more, or a full header value such as 'public, max-age=600'"
  })),
  preflightContinue: Type.Optional(Type.Boolean({ description: 'a boolean' })),
  optionsSuccessStatus: Type.Optional(Status(200, 299, 'a 2xx status code: browsers fail a preflight answered with any other')),
  deniedPreflightStatus: Type.Optional(Status(400, 499, 'a 4xx status code')),
  preflight: Type.Optional(Type.Boolean({ description: 'a boolean' })),
  strictPreflight: Type.Optional(Type.Boolean({ description: 'a boolean' })),
  originTimeout: Type.Optional(Type.Integer({ minimum: 0, description: 'a whole number of milliseconds, 0 (wait forever) or more' })),
  originCache: Type.Optional(Type.Union([
    Type.Literal(false),
    Type.Object({
      max: Type.Integer({ minimum: 1 }),
      ttl: Type.Optional(Type.Integer({ minimum: 0 }))
    }, { additionalProperties: false })
  ], { description: 'false, or { max: a whole number of origins, 1 or more, ttl?: milliseconds (0: no expiry) }' }))
}

export const RouteCorsOptionsSchema = Type.Object(policyProperties)
/** Route-level overrides: `config: { cors: RouteCorsOptions | false }`. */
export type RouteCorsOptions = Static<typeof RouteCorsOptionsSchema>

/** Options that may come back from a delegator: every per-request option. */
export const DelegatedOptionsSchema = RouteCorsOptionsSchema
export type DelegatedCorsOptions = RouteCorsOptions

/** `(request, callback) => void` or `async (request) => options`: options decided per request. */
export type CorsOptionsDelegate = (
  request: FastifyRequest,
  callback: (error: Error | null, options?: DelegatedCorsOptions) => void
) => void | DelegatedCorsOptions | Promise<DelegatedCorsOptions>

// Functions that take Fastify's types are typed by hand (TypeBox would inline Fastify's generics
// into the published declarations); the schema still checks that a function was given.
const DelegatorSchema = Type.Unsafe<CorsOptionsDelegate>(Type.Function([], Type.Unknown(), {
  description: 'a function (request, callback) => void, or async (request) => options'
}))

/** Told of every refusal, for metrics and alerting; it cannot change the response. */
export type DenialListener = (request: FastifyRequest, denial: CorsDenial) => unknown
const DenialListenerSchema = Type.Unsafe<DenialListener>(Type.Function([], Type.Unknown(), {
  description: 'a function (request, denial) => void'
}))

export const hookNames = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization'] as const
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const CorsOptionsSchema = Type.Object({
  ...policyProperties,
  hook: Type.Optional(Type.Union(hookNames.map(name => Type.Literal(name)), {
    description: hookNames.map(name => `'${name}'`).join(', ')
  })),
  delegator: Type.Optional(DelegatorSchema),
  hideOptionsRoute: Type.Optional(Type.Boolean({ description: 'a boolean' })),
  logLevel: Type.Optional(Type.Union(logLevels.map(level => Type.Literal(level)), {
    description: logLevels.map(level => `'${level}'`).join(', ')
  })),
  strict: Type.Optional(Type.Boolean({ description: 'a boolean' })),
  logDenials: Type.Optional(Type.Union([
    Type.Literal(false),
    Type.Object({
      level: Type.Optional(Type.Union(logLevels.map(level => Type.Literal(level)))),
      perMinute: Type.Optional(Type.Integer({ minimum: 1 }))
    }, { additionalProperties: false })
  ], { description: "false, or { level?: a log level such as 'info', perMinute?: a whole number of lines, 1 or more }" })),
  onDenied: Type.Optional(DenialListenerSchema),
  debug: Type.Optional(Type.Boolean({ description: 'a boolean' }))
})
export type CorsOptions = Static<typeof CorsOptionsSchema>

/** Keys Fastify's own `register` accepts next to a plugin's options. */
export const fastifyRegisterKeys: ReadonlySet<string> = new Set(['prefix', 'logSerializers'])

export function propertySchema (schema: { properties: Record<string, TSchema> }, key: string): TSchema | undefined {
  return Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined
}
