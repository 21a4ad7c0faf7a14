'use strict'

// One place that says, for each scenario, how each variant is configured, which request the load
// generator sends, and what a correct answer looks like. server.js builds the plugin options from
// it (RegExps and functions cannot cross the process boundary, names can); run.js reads the
// request and the expectation.

const path = require('node:path')

const VARIANTS = ['bare', 'fastify-cors', 'guard']

// Bare Fastify plus hooks that decide nothing, to split a CORS plugin's cost into its parts.
// `one-hook` has the single empty onRequest hook @fastify/cors adds; `guard-hooks` the three empty
// hooks this plugin adds (onRequest on the instance and on the route, and onSend). `same-headers`
// has one onRequest hook that sets, as constants, the very headers guard answered: the least any
// plugin can cost that sends them from a hook.
const REFERENCES = ['one-hook', 'guard-hooks', 'same-headers']

// BENCH_GUARD points the guard variant at another build (e.g. a copy of an older dist/).
const GUARD_PATH = process.env.BENCH_GUARD
  ? path.resolve(process.env.BENCH_GUARD)
  : path.join(__dirname, '..', 'dist', 'index.cjs')

const origins = (count, prefix) =>
  Array.from({ length: count }, (_, i) => `https://${prefix}${i}.example.com`)

const LIST_10 = origins(10, 'app')
const LIST_1000 = origins(1000, 'app')
const last = list => list[list.length - 1]

const get = origin => ({
  method: 'GET',
  headers: origin === undefined ? {} : { origin }
})

const preflight = origin => ({
  method: 'OPTIONS',
  headers: {
    origin,
    'access-control-request-method': 'PUT',
    'access-control-request-headers': 'content-type,x-request-id'
  }
})

// Fetch standard, CORS check: a browser accepts a response only if Access-Control-Allow-Origin is
// byte-equal to its origin (or `*` without credentials). `allowOrigin: null` means "refused":
// the header is absent or does not grant the request's origin.
const allowed = (origin, extra) => ({ status: 200, allowOrigin: origin, varyOrigin: true, ...extra })

const scenarios = [
  {
    name: 'no-origin',
    about: 'no Origin header (same-origin or non-browser client); origin is a list',
    options: { origin: LIST_10 },
    request: get(undefined),
    // Response depends on Origin, so Vary: Origin is needed even when the header is absent.
    expect: { status: 200, allowOrigin: null, varyOrigin: true }
  },
  {
    name: 'single-origin',
    about: "origin: 'https://app.example.com' (one fixed string); request from it",
    options: { origin: 'https://app.example.com' },
    request: get('https://app.example.com'),
    // A fixed value does not depend on Origin: Vary: Origin is allowed but not required.
    expect: allowed('https://app.example.com', { varyOrigin: 'optional' })
  },
  {
    name: 'list-10',
    about: 'origin: a list of 10 strings; request from the last',
    options: { origin: LIST_10 },
    request: get(last(LIST_10)),
    expect: allowed(last(LIST_10))
  },
  {
    name: 'list-1000',
    about: 'origin: a list of 1000 strings; request from the last',
    options: { origin: LIST_1000 },
    request: get(last(LIST_1000)),
    expect: allowed(last(LIST_1000))
  },
  {
    name: 'wildcard',
    about: "guard: 'https://*.example.com'; @fastify/cors: the equivalent RegExp",
    options: {},
    variantOptions: {
      guard: { origin: 'https://*.example.com' },
      'fastify-cors': { origin: /^https:\/\/[a-z0-9-]+\.example\.com$/ }
    },
    request: get('https://api.example.com'),
    expect: allowed('https://api.example.com')
  },
  {
    name: 'regexp',
    about: 'origin: an anchored RegExp with an alternation',
    options: { origin: /^https:\/\/(?:www|app|admin)\.example\.org$/ },
    request: get('https://admin.example.org'),
    expect: allowed('https://admin.example.org')
  },
  {
    name: 'async-fn',
    about: 'origin: async (origin) => boolean',
    options: { origin: async origin => origin === 'https://fn.example.com' },
    request: get('https://fn.example.com'),
    expect: allowed('https://fn.example.com')
  },
  {
    name: 'refused',
    about: 'simple GET from an origin not in the list of 10',
    options: { origin: LIST_10 },
    request: get('https://evil.example.net'),
    // Browser-relevant outcome: no Access-Control-Allow-Origin granting the origin. The server
    // may still serve the body (200) or refuse outright (4xx); 5xx is a bug.
    expect: { status: 'not-5xx', allowOrigin: null, varyOrigin: true }
  },
  {
    name: 'refused-preflight',
    about: 'preflight from an origin not in the list of 10',
    options: { origin: LIST_10, methods: ['GET', 'PUT'], allowedHeaders: ['content-type', 'x-request-id'] },
    request: preflight('https://evil.example.net'),
    // @fastify/cors answers 204 without Allow-Origin, guard 403 without CORS headers: both make
    // the browser fail the preflight.
    expect: { status: 'not-5xx', allowOrigin: null, varyOrigin: 'optional' }
  },
  {
    name: 'preflight',
    about: 'OPTIONS, Access-Control-Request-Method: PUT, -Headers: content-type,x-request-id',
    options: { origin: LIST_10, methods: ['GET', 'PUT'], allowedHeaders: ['content-type', 'x-request-id'] },
    request: preflight(last(LIST_10)),
    expect: {
      status: '2xx',
      allowOrigin: last(LIST_10),
      varyOrigin: true,
      allowMethods: ['PUT'],
      allowHeaders: ['content-type', 'x-request-id']
    }
  },
  {
    name: 'credentials',
    about: 'credentials: true, exposedHeaders: x-request-id, x-total-count',
    options: { origin: LIST_10, credentials: true, exposedHeaders: ['x-request-id', 'x-total-count'] },
    request: get(last(LIST_10)),
    expect: allowed(last(LIST_10), { credentials: true, exposeHeaders: ['x-request-id', 'x-total-count'] })
  },
  {
    name: 'route-level',
    about: "route config.cors origin ['https://route.example.com'], plugin origin another list",
    options: { origin: LIST_10 },
    routeConfig: { cors: { origin: ['https://route.example.com'] } },
    request: get('https://route.example.com'),
    expect: allowed('https://route.example.com')
  }
]

const byName = new Map(scenarios.map(s => [s.name, s]))

/** Plugin options for a CORS variant: the shared ones, then that variant's own spelling. */
function pluginOptions (scenario, variant) {
  return { ...scenario.options, ...scenario.variantOptions?.[variant] }
}

/**
 * Variants whose answer is checked on its status only, like bare Fastify's: bare and the reference
 * servers (same-headers sends guard's headers, which were checked on guard).
 */
const checksStatusOnly = variant => variant === 'bare' || REFERENCES.includes(variant)

/** What `bare` must answer: Fastify without CORS has no OPTIONS route, so preflights get 404. */
function bareStatus (scenario) {
  return scenario.request.method === 'OPTIONS' ? 404 : 200
}

module.exports = { VARIANTS, REFERENCES, checksStatusOnly, GUARD_PATH, scenarios, byName, pluginOptions, bareStatus }
