'use strict'

// Memory under hostile origins: does the heap stay flat when every request brings an origin never
// seen before?  node --expose-gc bench/memory.js [--requests N]   (--help for all options)
// Requests go through app.inject (no socket), with a bounded number in flight. The heap is read
// after global.gc() before the first request and after every tenth of them; growth is counted from
// the 10% mark, so that warm-up allocation (JIT, Fastify's first-request caches) is left out.
// It prints numbers; the exit code is 1 only when a request failed, hung or got a wrong answer.

const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { parseArgs } = require('node:util')

const GUARD_PATH = path.join(__dirname, '..', 'dist', 'index.cjs')
// The verdict only: growth from the 10% mark to the end under this is called flat. A leak of a few
// hundred bytes per request would show as tens of MB over the default 100000 requests; garbage
// collector noise after a full gc stays well under 1 MB.
const FLAT_THRESHOLD_BYTES = 5 * 1024 * 1024
// One inject that has not answered by then is counted as an error (and stops waiting).
const REQUEST_TIMEOUT_MS = 5000
const SAMPLES = 10
const ALLOWED_SUFFIX = '.allowed.example'

const HELP = `usage: node --expose-gc bench/memory.js [options]
  --requests N      requests per cached and uncached run, each with a new origin (default 100000)
  --hanging N       requests for the hanging origin function run (default 2000)
  --concurrency N   requests in flight at once (default 100)`

function options () {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '100000' },
      hanging: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '100' },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) {
    console.log(HELP)
    process.exit(0)
  }
  const count = name => {
    const value = Number(values[name])
    if (!Number.isInteger(value) || value < SAMPLES) {
      console.error(`--${name} must be a whole number, ${SAMPLES} or more`)
      process.exit(2)
    }
    return value
  }
  return { requests: count('requests'), hanging: count('hanging'), concurrency: count('concurrency') }
}

// Origins that cannot repeat: the index keeps them distinct, the random part keeps them from
// looking like a sequence a cache could exploit.
function makeOrigin (index, allowed) {
  const noise = Math.random().toString(36).slice(2, 8)
  return `https://o${index}-${noise}${allowed ? ALLOWED_SUFFIX : '.refused.example'}`
}

function withDeadline (promise, ms) {
  let timer
  const deadline = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no response within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

// Runs task(0..count-1) with at most `concurrency` in flight; resolves when all have settled.
async function pool (count, concurrency, task) {
  let next = 0
  const worker = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
}

// Right after a burst of injects, a gc still finds the burst's request objects alive for a few
// milliseconds (light-my-request's stream callbacks; bare Fastify shows it too): read at once, the
// heap looks as big as the last segment of requests. So: let the event loop run, collect, read,
// a few times, and keep the smallest reading.
const SETTLE_ROUNDS = 3
const SETTLE_MS = 50

async function heap () {
  let heapUsed = Infinity
  let rss = 0
  for (let round = 0; round < SETTLE_ROUNDS; round++) {
    await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
    global.gc()
    const usage = process.memoryUsage()
    if (usage.heapUsed < heapUsed) ({ heapUsed, rss } = usage)
  }
  return { heapUsed, rss }
}

const mb = bytes => `${(bytes / 1024 / 1024).toFixed(2)} MB`
const signedMb = bytes => `${bytes >= 0 ? '+' : '-'}${mb(Math.abs(bytes))}`

/**
 * One run: a fresh Fastify app with the plugin, `requests` GETs with new origins, half of them
 * under ALLOWED_SUFFIX. `allowedWins` says whether the answer for an allowed origin should be an
 * allow (false for the hanging function, which must deny everything).
 */
async function runVariant (plugin, { title, originFn, pluginOptions, requests, concurrency, allowedWins }) {
  const Fastify = require('fastify')
  const counts = { allowed: 0, denied: 0, wrong: 0, errors: 0, originCalls: 0 }
  const reasons = new Map()
  const firstProblems = []
  const problem = text => {
    if (firstProblems.length < 5) firstProblems.push(text)
  }

  const app = Fastify({ logger: false })
  await app.register(plugin, {
    ...pluginOptions,
    origin (origin) {
      counts.originCalls++
      return originFn(origin)
    },
    onDenied (request, denial) {
      reasons.set(denial.reason, (reasons.get(denial.reason) ?? 0) + 1)
    }
  })
  app.get('/data', async () => ({ ok: true }))
  await app.ready()

  const send = async index => {
    const allowed = Math.random() < 0.5
    const origin = makeOrigin(index, allowed)
    try {
      const response = await withDeadline(app.inject({ method: 'GET', url: '/data', headers: { origin } }), REQUEST_TIMEOUT_MS)
      if (response.statusCode !== 200) {
        counts.errors++
        problem(`${origin}: status ${response.statusCode}`)
        return
      }
      const allowOrigin = response.headers['access-control-allow-origin']
      if (allowOrigin === undefined) counts.denied++
      else counts.allowed++
      const expected = allowed && allowedWins ? origin : undefined
      if (allowOrigin !== expected) {
        counts.wrong++
        problem(`${origin}: Access-Control-Allow-Origin ${allowOrigin ?? '(none)'}, expected ${expected ?? '(none)'}`)
      }
    } catch (err) {
      counts.errors++
      problem(`${origin}: ${err.message}`)
    }
  }

  const samples = [{ label: 'before', done: 0, ...await heap() }]
  // Time spent sending only, not settling and collecting.
  let nanoseconds = 0n
  let done = 0
  for (let step = 1; step <= SAMPLES; step++) {
    const target = Math.round(requests * step / SAMPLES)
    const from = done
    const started = process.hrtime.bigint()
    await pool(target - from, concurrency, i => send(from + i))
    nanoseconds += process.hrtime.bigint() - started
    done = target
    samples.push({ label: `${step * 10}%`, done, ...await heap() })
  }
  const seconds = Number(nanoseconds) / 1e9
  await app.close()

  const base = samples[1]
  const end = samples[samples.length - 1]
  const growth = end.heapUsed - base.heapUsed
  const flat = growth < FLAT_THRESHOLD_BYTES

  console.log(`\n== ${title}`)
  console.log(`   ${requests} requests, ${concurrency} in flight, every origin new, about half under *${ALLOWED_SUFFIX}`)
  console.log('   mark      requests   heapUsed     from 10%       rss')
  for (const s of samples) {
    const fromBase = s.done === 0 ? '' : signedMb(s.heapUsed - base.heapUsed)
    console.log(`   ${s.label.padEnd(7)} ${String(s.done).padStart(10)} ${mb(s.heapUsed).padStart(10)} ${fromBase.padStart(12)} ${mb(s.rss).padStart(10)}`)
  }
  const reasonText = [...reasons].map(([reason, n]) => `${reason} ${n}`).join(', ') || 'none'
  console.log(`   time ${seconds.toFixed(2)} s (${Math.round(requests / seconds)} req/s); origin function called ${counts.originCalls} times`)
  console.log(`   responses: ${counts.allowed} allowed (Access-Control-Allow-Origin sent), ${counts.denied} CORS-denied (none sent)`)
  console.log(`   denials by reason (onDenied): ${reasonText}`)
  console.log(`   wrong answers ${counts.wrong}, request errors ${counts.errors}`)
  for (const text of firstProblems) console.log(`     ${text}`)
  console.log(`   heap growth 10% -> end: ${signedMb(growth)} -> ${flat ? 'flat' : 'GROWING'} (flat means under ${mb(FLAT_THRESHOLD_BYTES)})`)
  return { title, growth, flat, failures: counts.errors + counts.wrong }
}

async function main () {
  const opts = options()
  if (!fs.existsSync(GUARD_PATH)) {
    console.error(`${path.relative(process.cwd(), GUARD_PATH)} does not exist: run npm run build first`)
    process.exit(2)
  }
  const plugin = require(GUARD_PATH)

  console.log(`fastify-cors-guard memory: node ${process.version}, ${path.relative(process.cwd(), GUARD_PATH)} (${fs.statSync(GUARD_PATH).mtime.toISOString()})`)
  const allowOrNot = async origin => origin.endsWith(ALLOWED_SUFFIX)
  // Never settles, and keeps nothing: whatever it leaves behind is the plugin's doing.
  const hang = () => new Promise(() => {})

  const results = []
  results.push(await runVariant(plugin, {
    title: 'async origin function, originCache { max: 1000, ttl: 60000 }',
    originFn: allowOrNot,
    pluginOptions: { originCache: { max: 1000, ttl: 60000 } },
    requests: opts.requests,
    concurrency: opts.concurrency,
    allowedWins: true
  }))
  results.push(await runVariant(plugin, {
    title: 'async origin function, no cache (for comparison)',
    originFn: allowOrNot,
    pluginOptions: { originCache: false },
    requests: opts.requests,
    concurrency: opts.concurrency,
    allowedWins: true
  }))
  results.push(await runVariant(plugin, {
    title: 'hanging origin function (never answers), originTimeout: 50',
    originFn: hang,
    pluginOptions: { originTimeout: 50 },
    requests: opts.hanging,
    concurrency: opts.concurrency,
    allowedWins: false
  }))

  console.log('\n== summary')
  for (const r of results) {
    console.log(`   ${r.flat ? 'flat   ' : 'GROWING'} ${signedMb(r.growth).padStart(10)}  ${r.title}${r.failures ? `  (${r.failures} failures)` : ''}`)
  }
  const failures = results.reduce((sum, r) => sum + r.failures, 0)
  if (failures > 0) {
    console.log(`\n${failures} requests failed or got a wrong answer`)
    process.exitCode = 1
  }
}

if (typeof global.gc !== 'function') {
  // Heap numbers without a forced gc are mostly garbage: run again with the flag.
  const child = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)], { stdio: 'inherit' })
  process.exit(child.status ?? 1)
} else {
  main().catch(err => {
    console.error(err.stack || String(err))
    process.exit(1)
  })
}
