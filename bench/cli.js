'use strict'

// Command-line handling shared by the benchmark scripts: --help, usage errors that print the help,
// the --scenario list, and the exit code.

const { parseArgs } = require('node:util')
const { scenarios, byName } = require('./scenarios')
const { killAll } = require('./servers')

/** Parses `options` plus --scenario, --json and --help; exits after printing `help` for --help. */
function parseBenchArgs (help, options) {
  const { values } = parseArgs({
    options: {
      ...options,
      scenario: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) {
    console.log(help)
    process.exit(0)
  }
  const usage = message => Object.assign(new Error(`${message}\n\n${help}`), { code: 'ERR_PARSE_ARGS_BENCH' })
  const names = values.scenario ? values.scenario.split(',').map(s => s.trim()).filter(Boolean) : scenarios.map(s => s.name)
  const unknown = names.filter(name => !byName.has(name))
  if (unknown.length) throw usage(`unknown scenario ${unknown.join(', ')}; known: ${[...byName.keys()].join(', ')}`)
  return { values, usage, scenarios: names.map(name => byName.get(name)) }
}

/** Runs `main` (resolving the exit code); a failure kills the servers and exits with 2. */
function runBench (main) {
  main().then(code => {
    process.exitCode = code
  }, err => {
    // Usage mistakes (parseArgs's and ours) need no stack.
    console.error(err.code?.startsWith('ERR_PARSE_ARGS') ? err.message : err.stack || String(err))
    killAll()
    process.exitCode = 2
  })
}

module.exports = { parseBenchArgs, runBench }
