'use strict'

// The tables printed at the end: requests per second, requests per second of server CPU time,
// and the CPU diagnostics, with the ratios of medians and the warnings.

const { VARIANTS } = require('./scenarios')
const { MIN_SERVER_CPU, MAX_OTHER_CPU } = require('./machine')

const median = values => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const fmtRps = value => Math.round(value).toLocaleString('en-US')
const pct = value => value === null ? '?' : `${Math.round(value * 100)}%`

const spreadOf = values => values.length > 1
  ? ` ±${((Math.max(...values) - Math.min(...values)) / 2 / median(values) * 100).toFixed(1)}%`
  : ''

function summarize (entry) {
  if (!entry || entry.state !== 'ok') return { ok: false, cell: entry?.state ?? '-' }
  const rps = entry.runs.map(run => run.rps)
  // Requests per second of server CPU: what the server costs, whatever else ran on its core.
  const perCpu = entry.runs.every(run => run.serverCpu) ? entry.runs.map(run => run.rps / run.serverCpu) : null
  return {
    ok: true,
    rps: median(rps),
    rpsCell: fmtRps(median(rps)) + spreadOf(rps),
    perCpu: perCpu && median(perCpu),
    perCpuCell: perCpu ? fmtRps(median(perCpu)) + spreadOf(perCpu) : '?',
    clientCpu: median(entry.runs.map(run => run.clientCpu)),
    otherCpu: entry.runs.some(run => run.otherCpu === null) ? null : median(entry.runs.map(run => run.otherCpu)),
    serverCpu: perCpu ? median(entry.runs.map(run => run.serverCpu)) : null,
    contended: entry.runs.filter(run => run.contended).length,
    retried: entry.runs.reduce((sum, run) => sum + run.attempts - 1, 0)
  }
}

function table (header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(row => row[i].length)))
  const line = cells => '| ' + cells.map((cell, i) => i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])).join(' | ') + ' |'
  const rule = '|' + widths.map((w, i) => i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':').join('|') + '|'
  return [line(header), rule, ...rows.map(line)].join('\n')
}

function diagnosticCell (s) {
  if (!s.ok) return s.cell
  const flags = (s.retried ? ` r${s.retried}` : '') + (s.contended ? ` c${s.contended}` : '')
  return `${pct(s.serverCpu)} / ${pct(s.clientCpu)} / ${pct(s.otherCpu)}${flags}`
}

const RATIO_HEADER = ['scenario', 'bare', 'fastify-cors', 'guard', 'guard/bare', 'guard/fastify-cors', 'fastify-cors/bare']

/** One row of a metric: the three cells, then the ratios of medians (never with a WRONG side). */
function ratioRow (name, summaries, key) {
  const [bare, cors, guard] = summaries
  const cell = s => s.ok ? s[`${key}Cell`] : s.cell
  const ratio = (a, b) => a.ok && b.ok && a[key] && b[key] ? (a[key] / b[key]).toFixed(2) : '-'
  return [name, cell(bare), cell(cors), cell(guard), ratio(guard, bare), ratio(guard, cors), ratio(cors, bare)]
}

function report (results) {
  const throughput = []
  const efficiency = []
  const diagnostics = []
  const notes = []
  let contended = 0
  let busyClient = false
  for (const { scenario, outcome } of results) {
    const summaries = VARIANTS.map(variant => summarize(outcome[variant]))
    throughput.push(ratioRow(scenario.name, summaries, 'rps'))
    efficiency.push(ratioRow(scenario.name, summaries, 'perCpu'))
    diagnostics.push([scenario.name, ...summaries.map(diagnosticCell)])
    for (const s of summaries) {
      contended += s.contended ?? 0
      busyClient ||= s.ok && s.clientCpu > 0.9
    }
    for (const variant of VARIANTS) {
      const entry = outcome[variant]
      if (entry?.state === 'WRONG' || entry?.state === 'failed') notes.push(`${scenario.name} / ${variant}: ${entry.state}: ${entry.reason}`)
    }
  }
  console.log('\nRequests per second (median of rounds, ± half the min–max range); ratios of medians')
  console.log(table(RATIO_HEADER, throughput))
  console.log('\nRequests per second of server CPU time (median; robust to other load on the machine)')
  console.log(table(RATIO_HEADER, efficiency))
  console.log('\nCPU used by server / load generator / everything else, in % of one core (medians); ' +
    'rN runs repeated, cN runs still contended')
  console.log(table(['scenario', 'bare', 'fastify-cors', 'guard'], diagnostics))
  if (contended) {
    console.log(`\nwarning: ${contended} timed run(s) were contended (server under ${MIN_SERVER_CPU * 100}% of a core, ` +
      `or other processes over ${MAX_OTHER_CPU * 100}%): compare with care, and trust the per-CPU table more`)
  }
  if (busyClient) {
    console.log('\nwarning: the load generator used over 90% of its core: the fastest servers may be capped by it; ' +
      'the per-CPU table is not')
  }
  if (notes.length) console.log('\n' + notes.join('\n'))
  return notes.some(note => note.includes(': WRONG:'))
}

module.exports = { report, fmtRps, pct, median, spreadOf, table }
