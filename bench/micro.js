'use strict'

// The per-request decision alone, without HTTP: how long one decision takes, and how many bytes
// it allocates. Run: node --expose-gc --max-semi-space-size=64 bench/micro.js [--iterations N]
//
// The internal modules are compiled from lib/ with esbuild (the compiler tsup uses), so this
// measures the source as it is, not the published bundle's public surface.

const { performance, PerformanceObserver } = require('node:perf_hooks')
const path = require('node:path')
const Module = require('node:module')
const esbuild = require('esbuild')

const iterations = Number(argument('--iterations') ?? 1_000_000)

function argument (name) {
  const index = process.argv.indexOf(name)
  return index === -1 ? undefined : process.argv[index + 1]
}

function loadInternals () {
  const lib = path.join(__dirname, '..', 'lib')
  const { outputFiles } = esbuild.buildSync({
    stdin: {
      contents: "export { buildState } from './state'; export { decide } from './decide'",
      resolveDir: lib,
      loader: 'ts',
      sourcefile: 'bench-entry.ts'
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    // As in dist/: TypeBox bundled in, the other dependencies required.
    external: ['fastify-plugin', 'find-my-way', 'toad-cache']
  })
  const compiled = new Module(path.join(lib, 'bench-entry.js'))
  compiled.paths = Module._nodeModulePaths(lib)
  compiled._compile(outputFiles[0].text, path.join(lib, 'bench-entry.js'))
  return compiled.exports
}

const silentLog = { warn () {}, error () {}, info () {}, debug () {} }
const thousand = Array.from({ length: 1000 }, (_, i) => `https://app${i}.example.com`)

const scenarios = [
  { name: "origin '*'", options: { origin: '*' }, origin: 'https://a.example.com', expect: 'allowed' },
  { name: 'single fixed origin', options: { origin: 'https://app.example.com' }, origin: 'https://app.example.com', expect: 'allowed' },
  { name: 'list of 10, last', options: { origin: thousand.slice(0, 10) }, origin: thousand[9], expect: 'allowed' },
  { name: 'list of 1000, last', options: { origin: thousand }, origin: thousand[999], expect: 'allowed' },
  { name: 'pattern *.example.com', options: { origin: ['https://*.example.com'] }, origin: 'https://api.eu.example.com', expect: 'allowed' },
  { name: 'RegExp', options: { origin: [/^https:\/\/[a-z0-9-]+\.example\.com$/] }, origin: 'https://api.example.com', expect: 'allowed' },
  { name: 'refused origin (list)', options: { origin: thousand }, origin: 'https://evil.example', expect: 'origin-not-allowed' },
  { name: 'no Origin (list)', options: { origin: thousand }, origin: undefined, expect: 'no-origin' },
  { name: 'credentials + exposed', options: { origin: thousand.slice(0, 10), credentials: true, exposedHeaders: ['x-total', 'x-page'] }, origin: thousand[3], expect: 'allowed' },
  {
    name: 'preflight, listed headers',
    options: { origin: thousand.slice(0, 10), methods: ['GET', 'PUT'], allowedHeaders: ['content-type', 'x-request-id'] },
    origin: thousand[3],
    preflight: { method: 'PUT', headers: 'content-type,x-request-id' },
    expect: 'allowed'
  },
  {
    name: 'preflight, reflected headers',
    options: { origin: thousand.slice(0, 10), methods: ['GET', 'PUT'] },
    origin: thousand[3],
    preflight: { method: 'PUT', headers: 'content-type,x-request-id' },
    expect: 'allowed'
  }
]

function prepare ({ buildState, decide }, scenario) {
  const state = buildState(scenario.options, [], silentLog)
  const entry = state.defaultEntry
  const preflight = scenario.preflight === undefined
    ? undefined
    : { method: scenario.preflight.method, requestHeaders: scenario.preflight.headers, incomplete: false }
  const request = { headers: { origin: scenario.origin } }
  const once = () => decide(state, entry, scenario.origin, preflight, request, undefined)
  const first = once()
  if (typeof first.then === 'function') throw new Error(`${scenario.name}: expected a synchronous decision`)
  // A benchmark of a wrong answer proves nothing: check the decision first.
  const expected = scenario.expect
  if (first.reason !== expected) throw new Error(`${scenario.name}: decided ${first.reason}, expected ${expected}`)
  return once
}

// An origin function answers through a promise: the decision is awaited, one request at a time and
// ten at once (concurrent requests from one origin share one call to the function).
const asyncScenario = {
  name: 'async origin function',
  options: { origin: async (origin) => origin === 'https://fn.example.com' },
  origin: 'https://fn.example.com',
  expect: 'allowed'
}
const asyncIterations = 300_000

async function timeAsync ({ buildState, decide }, scenario, concurrency) {
  const state = buildState(scenario.options, [], silentLog)
  const request = { headers: { origin: scenario.origin } }
  const once = () => decide(state, state.defaultEntry, scenario.origin, undefined, request, undefined)
  const first = await once()
  if (first.reason !== scenario.expect) throw new Error(`${scenario.name}: decided ${first.reason}, expected ${scenario.expect}`)
  const run = count => Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = 0; i < count / concurrency; i++) await once()
  }))
  await run(100_000)
  const start = process.hrtime.bigint()
  await run(asyncIterations)
  return Number(process.hrtime.bigint() - start) / asyncIterations
}

function time (once) {
  for (let i = 0; i < 100_000; i++) once()
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) once()
  return Number(process.hrtime.bigint() - start) / iterations
}

// Heap growth over a loop short enough for the young generation to hold everything it allocates;
// a GC inside the loop would hide allocation, so the run says whether one happened.
async function allocation (once) {
  const rounds = 20_000
  const collections = []
  const observer = new PerformanceObserver(list => collections.push(...list.getEntries()))
  observer.observe({ entryTypes: ['gc'] })
  global.gc()
  const startedAt = performance.now()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < rounds; i++) once()
  const after = process.memoryUsage().heapUsed
  const endedAt = performance.now()
  await new Promise(resolve => setImmediate(resolve))
  observer.disconnect()
  const interrupted = collections.some(entry => entry.startTime >= startedAt && entry.startTime <= endedAt)
  return { bytes: Math.max(0, after - before) / rounds, interrupted }
}

async function main () {
  if (typeof global.gc !== 'function') {
    console.error('run with: node --expose-gc --max-semi-space-size=64 bench/micro.js')
    process.exitCode = 2
    return
  }
  const internals = loadInternals()
  console.log(`per-request decision, ${iterations.toLocaleString('en')} iterations each (node ${process.version})\n`)
  console.log('scenario                        ns/decision   bytes/decision')
  for (const scenario of scenarios) {
    const once = prepare(internals, scenario)
    const ns = time(once)
    const { bytes, interrupted } = await allocation(once)
    const allocated = interrupted ? 'n/a (GC ran)' : bytes.toFixed(1)
    console.log(`${scenario.name.padEnd(32)}${ns.toFixed(1).padStart(11)}   ${allocated.padStart(14)}`)
  }
  console.log(`\n${asyncScenario.name}, ${asyncIterations.toLocaleString('en')} awaited decisions each`)
  for (const concurrency of [1, 10]) {
    const ns = await timeAsync(internals, asyncScenario, concurrency)
    console.log(`${`${concurrency} at a time`.padEnd(32)}${ns.toFixed(1).padStart(11)}`)
  }
}

main()
