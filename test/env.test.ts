import t from 'tap'
import { corsOptionsFromEnv, CorsConfigError, problemCodes } from '../lib/index'
import { corsApp, get } from './support/app'

t.test('CORS_ORIGINS becomes a validated origin list, patterns included', async (t) => {
  const options = corsOptionsFromEnv({ CORS_ORIGINS: ' https://a.example.com, https://*.b.example.com ,' })
  t.same(options, { origin: ['https://a.example.com', 'https://*.b.example.com'] })
  const { app } = await corsApp(options)
  t.equal((await app.inject(get('/', 'https://x.b.example.com'))).headers['access-control-allow-origin'], 'https://x.b.example.com')
})

t.test('the other variables set credentials, methods, headers and max age', async (t) => {
  t.same(corsOptionsFromEnv({
    CORS_ORIGINS: 'https://a.example.com',
    CORS_CREDENTIALS: 'true',
    CORS_METHODS: 'GET, PUT',
    CORS_ALLOWED_HEADERS: 'content-type,x-request-id',
    CORS_EXPOSED_HEADERS: 'x-total',
    CORS_MAX_AGE: '600'
  }), {
    origin: ['https://a.example.com'],
    credentials: true,
    methods: ['GET', 'PUT'],
    allowedHeaders: ['content-type', 'x-request-id'],
    exposedHeaders: ['x-total'],
    maxAge: 600
  })
  t.same(corsOptionsFromEnv({ CORS_ORIGINS: '*', CORS_CREDENTIALS: 'false' }), { origin: '*', credentials: false })
})

t.test('defaults fill in what the environment leaves out', async (t) => {
  t.same(corsOptionsFromEnv({}, { origin: ['https://dev.example.com'], maxAge: 5 }), { origin: ['https://dev.example.com'], maxAge: 5 })
  t.same(corsOptionsFromEnv({ CORS_ORIGINS: 'https://prod.example.com' }, { origin: ['https://dev.example.com'] }), { origin: ['https://prod.example.com'] })
})

t.test('bad values fail with the same errors as the schema, naming the variable', async (t) => {
  t.throws(() => corsOptionsFromEnv({}), { code: 'CORS_GUARD_INVALID_CONFIG', message: /CORS_ORIGINS = undefined: CORS_ORIGINS is not set; set it to a comma-separated list/ })
  t.throws(() => corsOptionsFromEnv({ CORS_ORIGINS: '   ' }), /CORS_ORIGINS is not set/)
  try {
    corsOptionsFromEnv({ CORS_ORIGINS: 'app.example.com, https://B.example.com', CORS_CREDENTIALS: 'yes', CORS_MAX_AGE: 'ten', CORS_METHODS: 'get' })
    t.fail('expected an error')
  } catch (error) {
    const problems = (error as CorsConfigError).problems
    t.same(problems.map(problem => [problem.code, problem.path]), [
      [problemCodes.INVALID_ENVIRONMENT, 'CORS_CREDENTIALS'],
      [problemCodes.INVALID_TYPE, 'CORS_MAX_AGE'],
      [problemCodes.INVALID_ORIGIN, 'CORS_ORIGINS[0]'],
      [problemCodes.NON_CANONICAL_ORIGIN, 'CORS_ORIGINS[1]'],
      [problemCodes.INVALID_METHOD, 'CORS_METHODS']
    ])
    t.match((error as Error).message, /problems in the CORS environment variables/)
  }
  t.throws(() => corsOptionsFromEnv({ CORS_ORIGINS: '*', CORS_CREDENTIALS: 'true' }), { message: /\[CORS_GUARD_WILDCARD_WITH_CREDENTIALS\] CORS_ORIGINS = "\*"/ })
})

t.test('warnings do not fail the environment', async (t) => {
  const unanchored = /example\.com/
  t.same(corsOptionsFromEnv({}, { origin: [unanchored] }), { origin: [unanchored] })
})

t.test('problems in the defaults keep their option names', async (t) => {
  t.throws(() => corsOptionsFromEnv({ CORS_ORIGINS: 'https://a.example.com' }, { origins: [] } as never), {
    message: /\[CORS_GUARD_UNKNOWN_OPTION\] origins = \[array of 0\]: unknown option; did you mean "origin"\?/
  })
})

t.test('corsOptionsFromEnv reads process.env by default', async (t) => {
  const before = process.env.CORS_ORIGINS
  process.env.CORS_ORIGINS = 'https://from-process.example'
  t.teardown(() => { if (before === undefined) delete process.env.CORS_ORIGINS; else process.env.CORS_ORIGINS = before })
  t.same(corsOptionsFromEnv(), { origin: ['https://from-process.example'] })
})
