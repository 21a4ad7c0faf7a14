'use strict'

// Sustained load with a hostile mix: node bench/load.js [--duration S] [--connections C] [--quick]
// The server (Fastify + this plugin from dist/index.cjs) runs in a child process started from this
// same file with --expose-gc; it listens on 127.0.0.1, port 0, and tells its port over IPC. This
// process drives it with autocannon, cycling five requests on every connection (see KINDS), checks
// each answer, and asks the child for its heap (after gc) before and after the run. The child is
// killed at the end, whatever happens. It prints numbers; the exit code is 1 only on request
// errors, timeouts, wrong answers or a server that does not start.

const os = require('node:os')
const fs = require('node:fs')
const path = require('node:path')
const { fork } = require('node:child_process')
const { parseArgs } = require('node:util')

const GUARD_PATH = path.join(__dirname, '..', 'dist', 'index.cjs')
const CHILD_FLAG = '--load-server'
const READY_TIMEOUT_MS = 15000
const IPC_TIMEOUT_MS = 10000
// A run still going this long after its duration is stopped.
const RUN_GRACE_MS = 20000

const APP = 'https://app.allowed.example'
const PARTNER = 'https://partner.example'
const STRANGER = 'https://evil.example'

const HELP = `usage: node bench/load.js [options]
  --duration S      seconds of load (default 10)
  --connections C   concurrent keep-alive connections (default 50)
  --quick           3 seconds of load`

// ---------------------------------------------------------------- the server (child process)

function serverOptions () {
  return {
    origin: [APP, 'https://*.allowed.example'],
    methods: ['GET', 'PUT'],
    allowedHeaders: ['content-type'],
    credentials: true,
    maxAge: 600
  }
}

async function serve () {
  const Fastify = require('fastify')
  const plugin = require(GUARD_PATH)
  const app = Fastify({ logger: false })
  await app.register(plugin, serverOptions())
  app.get('/data', async () => ({ ok: true }))
  app.put('/data', async () => ({ ok: true }))
  // A route with its own policy: only the partner, without credentials.
  app.get('/partner', { config: { cors: { origin: [PARTNER], credentials: false } } }, async () => ({ ok: true }))
  await app.listen({ host: '127.0.0.1', port: 0 })

  process.on('message', message => {
    if (message?.type !== 'heap') return
    global.gc()
    global.gc()
    const { heapUsed, rss } = process.memoryUsage()
    process.send({ type: 'heap', heapUsed, rss })
  })
  process.send({ type: 'ready', port: app.server.address().port })
}

// ---------------------------------------------------------------- the load generator (parent)

// Each kind: the request, and what its answer must be. Refused preflights answer 403 by design.
const KINDS = [
  {
    name: 'allowed GET',
    request: { method: 'GET', path: '/data', headers: { origin: APP } },
    expect: { status: 200, allowOrigin: APP }
  },
  {
    name: 'refused GET',
    request: { method: 'GET', path: '/data', headers: { origin: STRANGER } },
    expect: { status: 200, allowOrigin: undefined }
  },
  {
    name: 'allowed preflight',
    request: {
      method: 'OPTIONS',
      path: '/data',
      headers: { origin: APP, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' }
    },
    expect: { status: 204, allowOrigin: APP }
  },
  {
    name: 'refused preflight',
    request: {
      method: 'OPTIONS',
      path: '/data',
      headers: { origin: STRANGER, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' }
    },
    expect: { status: 403, allowOrigin: undefined }
  },
  {
    name: 'route-policy GET',
    request: { method: 'GET', path: '/partner', headers: { origin: PARTNER } },
    expect: { status: 200, allowOrigin: PARTNER }
  }
]

function options () {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      connections: { type: 'string', default: '50' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) {
    console.log(HELP)
    process.exit(0)
  }
  const number = (name, fallback, max) => {
    const value = Number(values[name] ?? fallback)
    if (!Number.isInteger(value) || value < 1 || value > max) {
      console.error(`--${name} must be a whole number from 1 to ${max}`)
      process.exit(2)
    }
    return value
  }
  return {
    duration: number('duration', values.quick ? 3 : 10, 600),
    connections: number('connections', 50, 1000)
  }
}

function headerValue (headers, name) {
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) return headers[key]
  }
  return undefined
}

// Waits for the first IPC message of a type from the child, bounded in time.
function receive (child, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    const onMessage = message => {
      if (message?.type !== type) return
      cleanup()
      resolve(message)
    }
    const onExit = code => {
      cleanup()
      reject(new Error(`the server exited (code ${code}) before sending ${type}`))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`no ${type} message from the server within ${timeoutMs} ms`))
    }, timeoutMs)
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

// The server's heap after gc, or undefined (with the reason printed) if it cannot answer.
async function askHeap (child, when) {
  try {
    if (!child.connected) throw new Error('the server is gone')
    const answer = receive(child, 'heap', IPC_TIMEOUT_MS)
    child.send({ type: 'heap' })
    return await answer
  } catch (err) {
    console.error(`no heap reading ${when} the run: ${err.message}`)
    return undefined
  }
}

// One request of each kind before the load, so a wrong setup shows before the numbers.
async function checkOnce (port) {
  let wrong = 0
  for (const kind of KINDS) {
    const { method, path: url, headers } = kind.request
    const response = await fetch(`http://127.0.0.1:${port}${url}`, { method, headers, signal: AbortSignal.timeout(IPC_TIMEOUT_MS) })
    await response.arrayBuffer()
    const allowOrigin = response.headers.get('access-control-allow-origin') ?? undefined
    const ok = response.status === kind.expect.status && allowOrigin === kind.expect.allowOrigin
    if (!ok) wrong++
    console.log(`   ${kind.name.padEnd(18)} ${response.status}  Access-Control-Allow-Origin: ${allowOrigin ?? '(none)'}${ok ? '' : '   WRONG'}`)
  }
  return wrong
}

function runLoad (port, { duration, connections }, tally) {
  const autocannon = require('autocannon')
  const requests = KINDS.map((kind, index) => ({
    ...kind.request,
    onResponse (status, body, context, headers) {
      const counts = tally[index]
      counts.total++
      const allowOrigin = headerValue(headers, 'access-control-allow-origin')
      if (status !== kind.expect.status || allowOrigin !== kind.expect.allowOrigin) counts.wrong++
    }
  }))
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      duration,
      requests
    }, (err, result) => {
      clearTimeout(guard)
      if (err) reject(err)
      else resolve(result)
    })
    // autocannon stops itself after `duration`; this only bounds a run that does not.
    const guard = setTimeout(() => instance.stop(), duration * 1000 + RUN_GRACE_MS)
  })
}

const mb = bytes => `${(bytes / 1024 / 1024).toFixed(2)} MB`

async function main () {
  const opts = options()
  if (!fs.existsSync(GUARD_PATH)) {
    console.error(`${path.relative(process.cwd(), GUARD_PATH)} does not exist: run npm run build first`)
    process.exit(2)
  }

  const child = fork(__filename, [CHILD_FLAG], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  // A send to a server that died fails in askHeap; this keeps it from also crashing us.
  child.on('error', err => console.error(`server process: ${err.message}`))
  const killChild = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.on('exit', killChild)
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      killChild()
      process.exit(130)
    })
  }

  let failures = 0
  try {
    const { port } = await receive(child, 'ready', READY_TIMEOUT_MS)
    const load = os.loadavg().map(n => n.toFixed(2)).join(' ')
    console.log(`fastify-cors-guard load: node ${process.version}, ${os.cpus().length} cores, load average ${load}`)
    console.log(`server pid ${child.pid} on 127.0.0.1:${port}; ${opts.connections} connections, ${opts.duration} s, requests cycled per connection:`)

    failures += await checkOnce(port)

    const before = await askHeap(child, 'before')
    const tally = KINDS.map(() => ({ total: 0, wrong: 0 }))
    const result = await runLoad(port, opts, tally)
    const after = await askHeap(child, 'after')

    const codes = result.statusCodeStats
    const count = code => codes[code]?.count ?? 0
    const expected403 = count(403)
    const unexpectedNon2xx = result.non2xx - expected403
    const wrong = tally.reduce((sum, t) => sum + t.wrong, 0)

    console.log('\nresults')
    console.log(`   requests total       ${result.requests.total} (${result.duration} s)`)
    console.log(`   req/s                ${result.requests.average.toFixed(0)} mean, ${result.requests.min} min, ${result.requests.max} max (per second)`)
    console.log(`   latency              p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`)
    console.log(`   errors               ${result.errors}`)
    console.log(`   timeouts             ${result.timeouts}`)
    console.log(`   non-2xx              ${result.non2xx}: ${expected403} expected 403 (refused preflights), ${unexpectedNon2xx} unexpected`)
    console.log(`   status codes         ${Object.keys(codes).map(code => `${code}: ${codes[code].count}`).join(', ')}`)
    console.log('   answers by kind      (checked: status and Access-Control-Allow-Origin)')
    KINDS.forEach((kind, i) => console.log(`     ${kind.name.padEnd(18)} ${String(tally[i].total).padStart(9)} answered, ${tally[i].wrong} wrong`))
    if (before && after) {
      const change = after.heapUsed - before.heapUsed
      console.log(`   server heap (gc)     before ${mb(before.heapUsed)}, after ${mb(after.heapUsed)}, change ${change >= 0 ? '+' : '-'}${mb(Math.abs(change))}`)
      console.log(`   server rss           before ${mb(before.rss)}, after ${mb(after.rss)}`)
    } else {
      console.log('   server heap (gc)     not available')
      failures++
    }

    failures += result.errors + result.timeouts + unexpectedNon2xx + wrong
  } catch (err) {
    console.error(err.stack || String(err))
    failures++
  } finally {
    killChild()
  }
  if (failures > 0) {
    console.log(`\n${failures} errors, timeouts or wrong answers`)
    process.exitCode = 1
  }
}

if (process.argv.includes(CHILD_FLAG)) {
  // The parent owns this process: if it goes away, so do we.
  process.on('disconnect', () => process.exit(0))
  serve().catch(err => {
    console.error(err.stack || String(err))
    process.exit(1)
  })
} else {
  main()
}
