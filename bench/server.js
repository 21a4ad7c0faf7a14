'use strict'

// One benchmark server: `node bench/server.js <variant> <scenario>`, started by run.js with an IPC
// channel. Listens on 127.0.0.1, port 0, and reports { type: 'ready', port } to the parent, or
// { type: 'error', reason } if the variant cannot start. Exits when the parent goes away.

const fs = require('node:fs')
const Fastify = require('fastify')
const { VARIANTS, REFERENCES, GUARD_PATH, byName, pluginOptions } = require('./scenarios')

const [variant, scenarioName] = process.argv.slice(2)

function send (message) {
  if (process.send) process.send(message)
  else console.log(JSON.stringify(message))
}

function fail (reason) {
  send({ type: 'error', reason })
  // Let the message flush before leaving.
  setImmediate(() => process.exit(1))
}

// Required only when asked for, so the benchmark runs before dist/ exists.
function loadPlugin () {
  if (variant === 'fastify-cors') return require('@fastify/cors')
  if (!fs.existsSync(GUARD_PATH)) {
    throw new Error(process.env.BENCH_GUARD ? `${GUARD_PATH} does not exist` : 'not built: run npm run build')
  }
  const mod = require(GUARD_PATH)
  const plugin = typeof mod === 'function' ? mod : mod.default
  if (typeof plugin !== 'function') throw new Error(`${GUARD_PATH} does not export a plugin function`)
  return plugin
}

function cpusAllowed () {
  try {
    const status = fs.readFileSync('/proc/self/status', 'utf8')
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

// BENCH_PRELOAD=a,b requires those modules in every variant before it starts, to time what merely
// loading a module costs (see "Loading TypeBox" in BENCHMARKS.md).
function preload () {
  for (const name of (process.env.BENCH_PRELOAD ?? '').split(',').filter(Boolean)) require(name)
}

const passOn = (request, reply, done) => done()

// BENCH_SAME_HEADERS: a JSON list of [name, value] pairs, for the same-headers reference.
function addReferenceHooks (app, variant) {
  if (variant === 'same-headers') {
    const pairs = JSON.parse(process.env.BENCH_SAME_HEADERS ?? '[]')
    app.addHook('onRequest', (request, reply, done) => {
      for (const [name, value] of pairs) reply.header(name, value)
      done()
    })
    return
  }
  app.addHook('onRequest', passOn)
  if (variant !== 'guard-hooks') return
  app.addHook('onSend', (request, reply, payload, done) => done(null, payload))
  app.addHook('onRoute', route => {
    route.onRequest = [passOn]
  })
}

async function main () {
  try {
    preload()
  } catch (err) {
    return fail(`BENCH_PRELOAD: ${err.message}`)
  }
  const scenario = byName.get(scenarioName)
  if (!scenario) return fail(`unknown scenario ${scenarioName}`)
  if (!VARIANTS.includes(variant) && !REFERENCES.includes(variant)) return fail(`unknown variant ${variant}`)

  const app = Fastify({ logger: false })
  if (REFERENCES.includes(variant)) {
    addReferenceHooks(app, variant)
  } else if (variant !== 'bare') {
    let plugin
    try {
      plugin = loadPlugin()
    } catch (err) {
      return fail(err.message.startsWith('not built') ? err.message : `failed to load the plugin: ${err.message}`)
    }
    // Awaited, as the README recommends, so routes declared next are seen by the plugin's onRoute
    // hook. BENCH_REGISTER=no-await times the other pattern, where the plugin decides in onSend.
    if (process.env.BENCH_REGISTER === 'no-await') app.register(plugin, pluginOptions(scenario, variant))
    else await app.register(plugin, pluginOptions(scenario, variant))
  }
  // Options the plugin refuses surface as a listen error below.

  const routeOptions = scenario.routeConfig ? { config: scenario.routeConfig } : {}
  app.get('/data', routeOptions, async () => ({ ok: true }))

  try {
    await app.listen({ host: '127.0.0.1', port: 0 })
  } catch (err) {
    return fail(`failed to start: ${err.message}`)
  }
  send({ type: 'ready', port: app.server.address().port, cpus: cpusAllowed() })
}

process.on('message', message => {
  if (message?.type === 'cpu') send({ type: 'cpu', usage: process.cpuUsage() })
})
// The parent owns this process: if it exits or dies, so do we.
process.on('disconnect', () => process.exit(0))

main().catch(err => fail(err.stack || String(err)))
