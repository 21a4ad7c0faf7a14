'use strict'

// Instructions per request: bare Fastify vs @fastify/cors vs fastify-cors-guard, counted by
// valgrind's callgrind instead of timed. A count does not move when other processes share the
// machine, so differences of 1% show where req/s on a shared VM wobbles by 20%.
//   node bench/instructions.js [--scenario a,b] [--requests N] [--reps R] … (--help for all)
// Each server runs bench/server.js under callgrind. After a warm-up, each rep zeroes the counters,
// sends exactly N requests from this process, and dumps the count. See bench/README.md.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFile, spawnSync } = require('node:child_process')
const autocannon = require('autocannon')
const { VARIANTS, REFERENCES, scenarios } = require('./scenarios')
const { parseBenchArgs, runBench } = require('./cli')
const { checkServer } = require('./check')
const { killAll, startServer, stopServer } = require('./servers')
const { median, table, spreadOf, fmtRps: thousands } = require('./report')

// Node starts about 50 times slower under callgrind.
const READY_TIMEOUT_MS = 180000
const CONTROL_TIMEOUT_MS = 60000

// Some processes under callgrind settle into a slow mode: optimized `process.nextTick` (and the
// stream code it is inlined into) defines each property of its tick object through this V8 runtime
// function, each time migrating a deprecated map, about 30 calls and 35k instructions a request.
// Healthy processes never call it while counted. See bench/README.md, "The V8 slow mode".
const SLOW_MODE_FUNCTION = 'Runtime_DefineKeyedOwnPropertyInLiteral'
const SLOW_MODE_CALLS_PER_REQUEST = 1

const HELP = `usage: node bench/instructions.js [options]
  --requests N      requests per counted rep (default 5000: a rep spans several young-generation
                    collections, so whether one more fell into it moves the count little)
  --reps R          counted reps per server (default 5); the median is reported
  --warmup N        uncounted requests per server first, until the JIT has tiered up (default 20000)
  --settle N        requests sent after counting starts and before the first rep, not counted
                    (default 5000)
  --references      also count ${REFERENCES.join(' and ')}: bare Fastify with empty hooks, what the
                    hook stages cost without any CORS work
  --connections N   concurrent keep-alive connections (default 10)
  --parallel P      servers counted at once (default: the number of CPUs); counts do not depend on it
  --recounts K      a server caught in V8's slow mode is counted again in a new process, up to K
                    times (default 2); the discarded counts are kept in --json
  --variants a,b    only these variants (${[...VARIANTS, ...REFERENCES].join(', ')}); same-headers needs guard
  --scenario a,b    only these scenarios (${scenarios.map(s => s.name).join(', ')})
  --json FILE       also write every rep's count to FILE`

function options () {
  const { values, usage, scenarios: chosen } = parseBenchArgs(HELP, {
    requests: { type: 'string' },
    reps: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    parallel: { type: 'string' },
    recounts: { type: 'string' },
    settle: { type: 'string' },
    references: { type: 'boolean', default: false },
    variants: { type: 'string' }
  })
  const whole = (name, fallback, min) => {
    const value = values[name] === undefined ? fallback : Number(values[name])
    if (!Number.isInteger(value) || value < min) throw usage(`--${name} must be a whole number ≥ ${min}`)
    return value
  }
  const known = ['bare', ...REFERENCES, ...VARIANTS.slice(1)]
  let variants = values.references ? known : VARIANTS
  if (values.variants) {
    const wanted = values.variants.split(',').map(s => s.trim()).filter(Boolean)
    const strange = wanted.filter(name => !known.includes(name))
    if (strange.length) throw usage(`unknown variant ${strange.join(', ')}; known: ${known.join(', ')}`)
    if (wanted.includes('same-headers') && !wanted.includes('guard')) throw usage('same-headers needs guard: it sends what guard answered')
    variants = known.filter(name => wanted.includes(name))
  }
  return {
    requests: whole('requests', 5000, 1),
    reps: whole('reps', 5, 1),
    warmup: whole('warmup', 20000, 0),
    settle: whole('settle', 5000, 1),
    variants,
    connections: whole('connections', 10, 1),
    parallel: whole('parallel', os.availableParallelism(), 1),
    recounts: whole('recounts', 2, 0),
    scenarios: chosen,
    json: values.json
  }
}

/** Sends exactly `amount` requests; resolves the status counts and errors. */
async function send (port, scenario, amount, connections) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/data`,
    method: scenario.request.method,
    headers: scenario.request.headers,
    connections: Math.min(connections, amount),
    pipelining: 1,
    amount,
    timeout: 60
  })
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]))
  return { total: result.requests.total, statuses, errors: result.errors }
}

/** Asks callgrind in process `pid` to switch counting on (`-i on`), zero (`-z`) or dump (`-d`). */
function control (pid, ...args) {
  return new Promise((resolve, reject) => {
    execFile('callgrind_control', [...args, String(pid)], { timeout: CONTROL_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`callgrind_control ${args.join(' ')} ${pid}: ${stderr.trim() || err.message}`))
      else resolve()
    })
  })
}

/** The instruction count ("summary: N") of a callgrind dump. */
function countOf (file) {
  const match = /^summary:\s*(\d+)/m.exec(fs.readFileSync(file, 'utf8'))
  if (!match) throw new Error(`${file} has no summary line`)
  return Number(match[1])
}

/** How many calls a callgrind dump records to functions whose name contains `name`. */
function callsTo (file, name) {
  // Dumps name each function once, as "(id) name", and refer to it by "(id)" after that.
  const text = fs.readFileSync(file, 'utf8')
  const ids = new Set()
  for (const match of text.matchAll(/^c?fn=(\(\d+\)) (.*)$/gm)) if (match[2].includes(name)) ids.add(match[1])
  let calls = 0
  for (const match of text.matchAll(/^cfn=(\(\d+\)).*\ncalls=(\d+)/gm)) if (ids.has(match[1])) calls += Number(match[2])
  return calls
}

/** `env` goes to the server: the same-headers reference reads the headers guard sent from it. */
async function countServer (scenario, variant, opts, dir, env) {
  const out = path.join(dir, `${scenario.name}.${variant}`)
  // Startup and warm-up run uninstrumented, several times faster; the JIT tiers up on call counts,
  // not on time, so the code that is counted is the same.
  const wrapper = ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, `--log-file=${out}.log`]
  const server = await startServer(variant, scenario, { pinned: false }, { wrapper, readyTimeoutMs: READY_TIMEOUT_MS, env })
  const entry = { state: 'ok', perRequest: [], slowModeCalls: [] }
  try {
    if (server.error) return { state: server.error.startsWith('not built') ? 'not built' : 'failed', reason: server.error }
    const check = await checkServer(server.port, scenario, variant)
    entry.answer = check.summary
    entry.corsHeaders = check.corsHeaders
    if (check.problems.length) return { state: 'WRONG', reason: check.problems.join('; '), answer: check.summary }
    if (opts.warmup > 0) await send(server.port, scenario, opts.warmup, opts.connections)
    await control(server.child.pid, '-i', 'on')
    // The first requests after counting starts cost far more (104k instructions a request against
    // 57k after, for bare Fastify, with no GC in between), whatever the warm-up: they are not counted.
    await send(server.port, scenario, opts.settle, opts.connections)
    for (let rep = 1; rep <= opts.reps; rep++) {
      await control(server.child.pid, '-z')
      const sent = await send(server.port, scenario, opts.requests, opts.connections)
      await control(server.child.pid, '-d')
      const other = Object.keys(sent.statuses).filter(code => Number(code) !== check.status)
      if (sent.errors || other.length || sent.total !== opts.requests) {
        return { state: 'WRONG', reason: `rep ${rep}: ${sent.total} answers, statuses ${JSON.stringify(sent.statuses)}, ${sent.errors} errors` }
      }
      // Dumps are numbered from 1 in the order they were asked for.
      entry.perRequest.push(countOf(`${out}.${rep}`) / opts.requests)
      entry.slowModeCalls.push(callsTo(`${out}.${rep}`, SLOW_MODE_FUNCTION) / opts.requests)
    }
    if (median(entry.slowModeCalls) >= SLOW_MODE_CALLS_PER_REQUEST) entry.state = 'slow mode'
    return entry
  } finally {
    if (server.child) await stopServer(server)
  }
}

/** One line of progress about one server. */
function progress (scenario, variant, text) {
  console.log(`  ${scenario.name.padEnd(17)} ${variant.padEnd(12)} ${text}`)
}

async function countVariant (scenario, variant, opts, dir, guardHeaders) {
  let env
  if (variant === 'same-headers') {
    const headers = await guardHeaders
    if (headers === null) return { state: 'skipped', reason: 'guard did not answer correctly' }
    env = { BENCH_SAME_HEADERS: JSON.stringify(headers) }
  }
  const discarded = []
  for (;;) {
    const entry = await countServer(scenario, variant, opts, dir, env).catch(err => ({ state: 'failed', reason: err.message }))
    if (entry.state !== 'slow mode' || discarded.length === opts.recounts) return discarded.length ? { ...entry, discarded } : entry
    progress(scenario, variant, `V8 slow mode (${entry.slowModeCalls.map(n => n.toFixed(1)).join(', ')} ${SLOW_MODE_FUNCTION} calls a request): ` +
      `${entry.perRequest.map(thousands).join(', ')}, discarded; counting again in a new process`)
    discarded.push({ perRequest: entry.perRequest, slowModeCalls: entry.slowModeCalls })
  }
}

/** Runs `jobs` (functions returning promises), at most `width` at a time. */
async function pool (jobs, width) {
  let next = 0
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]()
  }
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker))
}

function report (results, variants) {
  const extras = variants.filter(variant => variant !== 'bare')
  const rows = results.map(({ scenario, outcome }) => {
    const count = variant => outcome[variant]?.state === 'ok' ? median(outcome[variant].perRequest) : null
    const cell = variant => {
      const entry = outcome[variant]
      return entry?.state === 'ok' ? thousands(count(variant)) + spreadOf(entry.perRequest) : entry?.state ?? '-'
    }
    // The floor only applies where bare Fastify answers the same request with the same route.
    const floor = scenario.request.method === 'OPTIONS' ? null : count('bare')
    const over = variant => {
      const own = count(variant)
      if (floor === null || own === null) return '-'
      return (own < floor ? '−' : '+') + thousands(Math.abs(own - floor))
    }
    const speed = (of, to) => {
      const own = count(of)
      const other = to === 'bare' ? floor : count(to)
      return own === null || other === null ? '-' : (other / own).toFixed(3)
    }
    return [scenario.name, ...variants.map(cell), ...extras.map(over),
      speed('guard', 'bare'), speed('guard', 'fastify-cors'), speed('fastify-cors', 'bare')]
  })
  console.log('\nInstructions per request (median of reps, ± half the min–max range); extra over bare; ' +
    'speed ratios as instructions inverted (guard/bare = bare ÷ guard: above 1 is less work)')
  console.log(table(['scenario', ...variants, ...extras.map(variant => `${variant} − bare`), 'guard/bare', 'guard/fastify-cors', 'fastify-cors/bare'], rows))
  const wrong = results.flatMap(({ scenario, outcome }) => variants
    .filter(variant => outcome[variant]?.state === 'WRONG')
    .map(variant => `${scenario.name} ${variant}: ${outcome[variant].reason}`))
  for (const line of wrong) console.log(`WRONG ${line}`)
  return wrong.length > 0
}

async function main () {
  const opts = options()
  if (spawnSync('callgrind_control', ['-h'], { stdio: 'ignore' }).error) {
    console.error('valgrind is not installed: apt-get install valgrind')
    return 2
  }
  const versions = ['fastify', '@fastify/cors', 'autocannon'].map(name => `${name} ${require(`${name}/package.json`).version}`)
  const valgrind = spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).stdout.trim()
  console.log(`node ${process.version}, ${versions.join(', ')}, ${valgrind}`)
  console.log(`${opts.reps} reps of ${opts.requests} requests per server after ${opts.warmup} uncounted and ${opts.settle} settling, ${opts.connections} connections, ${opts.parallel} servers at once`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cors-bench-callgrind-'))
  const results = opts.scenarios.map(scenario => ({ scenario, outcome: {} }))
  // Guard first in each scenario: the same-headers reference sends what guard answered.
  const order = variant => variant === 'guard' ? 0 : variant === 'same-headers' ? 2 : 1
  const jobs = results.flatMap(({ scenario, outcome }) => {
    let guardAnswered
    const guardHeaders = new Promise(resolve => { guardAnswered = resolve })
    return [...opts.variants].sort((a, b) => order(a) - order(b)).map(variant => async () => {
      const entry = await countVariant(scenario, variant, opts, dir, guardHeaders)
      outcome[variant] = entry
      const counted = entry.state === 'ok' || entry.state === 'slow mode'
      if (variant === 'guard') guardAnswered(counted ? entry.corsHeaders : null)
      const counts = counted ? entry.perRequest.map(thousands).join(', ') : ''
      const shown = entry.state === 'ok' ? counts : counted ? `slow mode in every process: ${counts}` : `${entry.state}: ${entry.reason}`
      progress(scenario, variant, shown)
    })
  })
  try {
    await pool(jobs, opts.parallel)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const wrong = report(results, opts.variants)
  if (opts.json) {
    const data = { node: process.version, valgrind, opts: { ...opts, scenarios: opts.scenarios.map(s => s.name) }, results: results.map(({ scenario, outcome }) => ({ scenario: scenario.name, outcome })) }
    fs.writeFileSync(opts.json, JSON.stringify(data, null, 2) + '\n')
  }
  return wrong ? 1 : 0
}

process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130))

runBench(main)
