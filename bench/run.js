'use strict'

// HTTP benchmark: bare Fastify vs @fastify/cors vs fastify-cors-guard (dist/index.cjs).
//   node bench/run.js [--quick] [--rounds N] [--duration S] [--scenario a,b] … (--help for all)
// Each server runs in its own child process (bench/server.js); this process is the load generator
// (autocannon). With taskset, the two are pinned to different cores. See bench/README.md.

const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const autocannon = require('autocannon')
const { VARIANTS, GUARD_PATH, scenarios } = require('./scenarios')
const { parseBenchArgs, runBench } = require('./cli')
const { checkServer } = require('./check')
const { MIN_SERVER_CPU, MAX_OTHER_CPU, pin, cpuTimes, waitForQuiet, isContended } = require('./machine')
const { killAll, startServer, stopServer, serverCpuUsage, cpuMs } = require('./servers')
const { report, fmtRps, pct } = require('./report')

// A run that has not ended this long after its fixed duration is stopped.
const RUN_GRACE_S = 15

const HELP = `usage: node bench/run.js [options]
  --quick             smoke run: 1 round, 1 s per run, no warm-up
  --rounds N          interleaved rounds per variant (default 3); the median is reported
  --duration S        seconds per timed run (default 5)
  --warmup S          untimed seconds per server before the first round (default 1)
  --quiet S           before each timed run, wait up to S seconds for the machine to go idle (default 10)
  --retries N         repeat a contended run (server under ${MIN_SERVER_CPU * 100}% of a core, or other processes
                      over ${MAX_OTHER_CPU * 100}%), up to N times (default 2)
  --connections N     concurrent keep-alive connections (default 10)
  --scenario a,b      only these scenarios (${scenarios.map(s => s.name).join(', ')})
  --no-pin            do not pin server and load generator to different cores
  --json FILE         also write every run's numbers to FILE`

function options () {
  const { values, usage, scenarios: chosen } = parseBenchArgs(HELP, {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    retries: { type: 'string' },
    quiet: { type: 'string' },
    connections: { type: 'string', default: '10' },
    'no-pin': { type: 'boolean', default: false }
  })
  const number = (name, fallback, min) => {
    const value = values[name] === undefined ? fallback : Number(values[name])
    if (!Number.isFinite(value) || value < min) throw usage(`--${name} must be a number ≥ ${min}`)
    return value
  }
  return {
    rounds: Math.floor(number('rounds', values.quick ? 1 : 3, 1)),
    duration: number('duration', values.quick ? 1 : 5, 0.5),
    warmup: number('warmup', values.quick ? 0 : 1, 0),
    retries: Math.floor(number('retries', values.quick ? 0 : 2, 0)),
    quiet: number('quiet', values.quick ? 0 : 10, 0),
    connections: Math.floor(number('connections', 10, 1)),
    scenarios: chosen,
    pin: !values['no-pin'],
    json: values.json
  }
}

// ---- load ---------------------------------------------------------------------------------------

async function load (server, scenario, seconds, connections) {
  const serverBefore = await serverCpuUsage(server)
  const machineBefore = cpuTimes()
  const clientBefore = process.cpuUsage()
  const instance = autocannon({
    url: `http://127.0.0.1:${server.port}/data`,
    method: scenario.request.method,
    headers: scenario.request.headers,
    connections,
    pipelining: 1,
    duration: seconds,
    // Stop within 0.1 s of the duration instead of at the next whole second.
    sampleInt: 100,
    timeout: 5
  })
  const bound = setTimeout(() => instance.stop(), (seconds + RUN_GRACE_S) * 1000)
  let result
  try {
    result = await instance
  } finally {
    clearTimeout(bound)
  }
  const clientMs = cpuMs(process.cpuUsage(clientBefore))
  const machineAfter = cpuTimes()
  const serverAfter = await serverCpuUsage(server)
  const wallMs = result.duration * 1000
  const serverCpu = serverBefore && serverAfter ? (cpuMs(serverAfter) - cpuMs(serverBefore)) / wallMs : null
  // Cores busy machine-wide minus ours: other processes, plus kernel time charged to no process.
  const machineCores = machineBefore && machineAfter && machineAfter[1] > machineBefore[1]
    ? (machineAfter[0] - machineBefore[0]) / (machineAfter[1] - machineBefore[1]) * os.cpus().length
    : null
  return {
    rps: result.requests.total / result.duration,
    requests: result.requests.total,
    seconds: result.duration,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
    latencyMs: result.latency.average,
    clientCpu: clientMs / wallMs,
    serverCpu,
    otherCpu: machineCores === null || serverCpu === null ? null : Math.max(0, machineCores - serverCpu - clientMs / wallMs)
  }
}

/** Anything during the load that disagrees with the checked answer. */
function loadProblems (run, checkedStatus) {
  const out = []
  const other = Object.keys(run.statusCodes).filter(code => Number(code) !== checkedStatus)
  if (other.length) out.push(`statuses under load ${JSON.stringify(run.statusCodes)}, checked ${checkedStatus}`)
  if (run.errors) out.push(`${run.errors} errors (${run.timeouts} timeouts) under load`)
  if (!run.requests) out.push('no request completed')
  return out
}

// ---- one scenario -------------------------------------------------------------------------------

async function benchScenario (scenario, opts, pinning, log) {
  log(`\n${scenario.name}: ${scenario.about}`)
  // The build is read when its server starts: a rebuild during the run shows up per scenario.
  const build = guardBuild()
  const servers = await Promise.all(VARIANTS.map(variant => startServer(variant, scenario, pinning)))
  const outcome = {}
  try {
    for (const server of servers) {
      const entry = outcome[server.variant] = { runs: [] }
      if (server.variant === 'guard') entry.build = build
      if (server.error) {
        entry.state = server.error.startsWith('not built') ? 'not built' : 'failed'
        entry.reason = server.error
        log(`  ${server.variant.padEnd(12)} ${server.error}`)
        continue
      }
      let check
      try {
        check = await checkServer(server.port, scenario, server.variant)
      } catch (err) {
        check = { problems: [`check request failed: ${err.message}`], summary: '' }
      }
      entry.answer = check.summary
      entry.status = check.status
      if (check.problems.length) {
        entry.state = 'WRONG'
        entry.reason = check.problems.join('; ')
        log(`  ${server.variant.padEnd(12)} WRONG: ${entry.reason}\n  ${''.padEnd(12)} answer: ${check.summary}`)
        await stopServer(server)
      } else {
        entry.state = 'ok'
        log(`  ${server.variant.padEnd(12)} ok  ${check.summary}  (server CPUs ${server.cpus})`)
      }
    }
    const timed = servers.filter(server => outcome[server.variant].state === 'ok')
    if (opts.warmup > 0) {
      for (const server of timed) await load(server, scenario, opts.warmup, opts.connections)
    }
    for (let round = 1; round <= opts.rounds; round++) {
      const line = []
      // Each round starts with the next variant, so no variant always runs first or last: on a
      // shared VM the position in a round measurably changes the numbers.
      for (const server of rotated(timed, round - 1)) {
        const entry = outcome[server.variant]
        if (entry.state !== 'ok') continue
        let run
        let problems
        let attempts = 0
        let waited = 0
        do {
          if (opts.quiet > 0) waited += await waitForQuiet(opts.quiet)
          run = await load(server, scenario, opts.duration, opts.connections)
          attempts++
          // Every attempt must answer like the check did, also those repeated for contention.
          problems = loadProblems(run, entry.status)
        } while (!problems.length && isContended(run) && attempts <= opts.retries)
        Object.assign(run, { attempts, waited, contended: isContended(run) })
        entry.runs.push(run)
        if (problems.length) {
          entry.state = 'WRONG'
          entry.reason = problems.join('; ')
          line.push(`${server.variant} WRONG (${entry.reason})`)
          continue
        }
        const flags = [
          waited >= 1 && `waited ${waited.toFixed(0)} s for idle`,
          attempts > 1 && `${attempts} tries`,
          run.contended && `contended: server ${pct(run.serverCpu)}, other ${pct(run.otherCpu)} CPU`
        ].filter(Boolean)
        line.push(`${server.variant} ${fmtRps(run.rps)}${flags.length ? ` (${flags.join(', ')})` : ''}`)
      }
      log(`  round ${round}/${opts.rounds}: ${line.join('  ') || 'nothing to time'}`)
    }
  } finally {
    await Promise.all(servers.filter(server => server.child).map(stopServer))
  }
  return outcome
}

function rotated (list, by) {
  const start = list.length === 0 ? 0 : by % list.length
  return [...list.slice(start), ...list.slice(0, start)]
}

// ---- main ---------------------------------------------------------------------------------------

async function main () {
  const opts = options()
  const cpuCount = os.availableParallelism()
  const pinning = pin(opts.pin)
  const log = message => console.log(message)
  const versions = ['fastify', '@fastify/cors', 'autocannon'].map(name => `${name} ${require(`${name}/package.json`).version}`)
  log(`node ${process.version}, ${versions.join(', ')}, ${cpuCount} CPUs available`)
  log(`pinning: ${pinning.note}`)
  log(`rounds ${opts.rounds}, ${opts.duration} s per run, warm-up ${opts.warmup} s, ${opts.connections} connections, ` +
    `up to ${opts.retries} retries of a contended run, up to ${opts.quiet} s wait for an idle machine before each, order ${VARIANTS.join(' → ')} rotated by one each round`)
  const build = guardBuild()
  log(`guard: ${build ?? 'not built'}${process.env.BENCH_GUARD ? ' (BENCH_GUARD)' : ''}`)
  if (process.env.BENCH_PRELOAD) log(`every variant first requires: ${process.env.BENCH_PRELOAD} (BENCH_PRELOAD)`)
  for (const scenario of opts.scenarios) {
    results.push({ scenario, outcome: await benchScenario(scenario, opts, pinning, log) })
  }
  const builds = new Map()
  for (const { scenario, outcome } of results) {
    const key = outcome.guard?.build ?? 'not built'
    builds.set(key, [...(builds.get(key) ?? []), scenario.name])
  }
  if (builds.size > 1) {
    log(`\nwarning: ${GUARD_PATH} changed during the run; guard builds timed:`)
    for (const [key, names] of builds) log(`  ${key}: ${names.join(', ')}`)
  }
  const wrong = finish(opts, pinning, build)
  return wrong ? 1 : 0
}

// Scenarios finished so far: printed at the end, or when the run is interrupted.
const results = []

/** Identifies the guard build that was timed: file, size, mtime and a short hash. */
function guardBuild () {
  try {
    const bytes = fs.readFileSync(GUARD_PATH)
    const { mtime } = fs.statSync(GUARD_PATH)
    const hash = crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 12)
    const shown = path.relative(process.cwd(), GUARD_PATH).startsWith('..') ? GUARD_PATH : path.relative(process.cwd(), GUARD_PATH)
    return `${shown} ${bytes.length} bytes, built ${mtime.toISOString()}, sha256 ${hash}`
  } catch {
    return null
  }
}

function finish (opts, pinning, build) {
  const wrong = report(results)
  if (opts.json) {
    const data = {
      node: process.version,
      pinning,
      guard: build,
      preload: process.env.BENCH_PRELOAD || undefined,
      opts: { ...opts, scenarios: opts.scenarios.map(s => s.name) },
      results: results.map(({ scenario, outcome }) => ({ scenario: scenario.name, outcome }))
    }
    fs.writeFileSync(opts.json, JSON.stringify(data, null, 2) + '\n')
  }
  return wrong
}

process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAll()
    if (results.length) {
      console.log(`\ninterrupted by ${signal}: scenarios finished so far`)
      report(results)
    }
    process.exit(130)
  })
}

runBench(main)
