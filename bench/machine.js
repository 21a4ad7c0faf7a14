'use strict'

// The machine under the benchmark: pinning to cores, and other processes' load, which makes a
// run's numbers unreliable ("contended").

const fs = require('node:fs')
const { spawnSync } = require('node:child_process')

// A server under load from 10 connections keeps its core busy; below this share of one core it
// was waiting for the CPU (another process on its core) or for the load generator.
const MIN_SERVER_CPU = 0.85
// Kernel work charged to no process is about 5% of a core on an idle 2-core VM; more than this
// means another process ran during the run, on either core.
const MAX_OTHER_CPU = 0.15
// Before a timed run, wait (bounded by --quiet) until the machine's CPUs are this idle.
const QUIET_BUSY = 0.1

function allowedCpus () {
  const status = fs.readFileSync('/proc/self/status', 'utf8')
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1]
  if (!list) return []
  return list.split(',').flatMap(part => {
    const [from, to = from] = part.split('-').map(Number)
    return Array.from({ length: to - from + 1 }, (_, i) => from + i)
  })
}

/** Pins this process (all its threads) to one core and reserves another for the servers. */
function pin (wanted) {
  if (!wanted) return { pinned: false, note: 'off (--no-pin)' }
  if (spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status !== 0) return { pinned: false, note: 'off (no taskset)' }
  let cpus
  try {
    cpus = allowedCpus()
  } catch {
    return { pinned: false, note: 'off (cannot read /proc/self/status)' }
  }
  if (cpus.length < 2) return { pinned: false, note: `off (only CPU ${cpus.join(',')} allowed)` }
  const [clientCpu, serverCpu] = cpus
  const result = spawnSync('taskset', ['-a', '-cp', String(clientCpu), String(process.pid)], { stdio: 'ignore' })
  const now = allowedCpus()
  if (result.status !== 0 || now.length !== 1 || now[0] !== clientCpu) {
    return { pinned: false, note: 'off (taskset failed)' }
  }
  return { pinned: true, clientCpu, serverCpu, note: `on: load generator on CPU ${clientCpu}, servers on CPU ${serverCpu}` }
}

/** [busy, total] jiffies over all CPUs, from /proc/stat. */
function cpuTimes () {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number)
    const total = fields.reduce((a, b) => a + b, 0)
    return [total - fields[3] - fields[4], total]
  } catch {
    return null
  }
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Waits until the machine is idle (our servers idle too) or `seconds` have passed, so a timed run
 * does not start in the middle of someone else's build. Resolves the seconds waited.
 */
async function waitForQuiet (seconds) {
  const start = Date.now()
  while (Date.now() - start < seconds * 1000) {
    const before = cpuTimes()
    await sleep(250)
    const after = cpuTimes()
    if (!before || !after || after[1] === before[1]) break
    if ((after[0] - before[0]) / (after[1] - before[1]) < QUIET_BUSY) break
  }
  return (Date.now() - start) / 1000
}

/** A run whose server did not have its core to itself; see the thresholds above. */
const isContended = run => (run.serverCpu !== null && run.serverCpu < MIN_SERVER_CPU) ||
  (run.otherCpu !== null && run.otherCpu > MAX_OTHER_CPU)

module.exports = { MIN_SERVER_CPU, MAX_OTHER_CPU, pin, cpuTimes, waitForQuiet, isContended }
