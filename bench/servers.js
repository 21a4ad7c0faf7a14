'use strict'

// Server processes: one child per variant, running server.js, on the servers' core when pinned.
// Every child is killed after its scenario, and by killAll() on exit.

const path = require('node:path')
const { spawn } = require('node:child_process')

const SERVER = path.join(__dirname, 'server.js')
const READY_TIMEOUT_MS = 15000

const children = new Set()

function killAll () {
  for (const child of children) child.kill('SIGKILL')
}

/**
 * `wrapper` runs the server under another program (e.g. valgrind: a command and its arguments,
 * to which node and server.js are appended), which may need `readyTimeoutMs` to start.
 */
function startServer (variant, scenario, pinning, { wrapper = [], readyTimeoutMs = READY_TIMEOUT_MS, env } = {}) {
  const command = [...wrapper, process.execPath, SERVER, variant, scenario.name]
  if (pinning.pinned) command.unshift('taskset', '-c', String(pinning.serverCpu))
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: { ...process.env, ...env } })
  children.add(child)
  const exited = new Promise(resolve => child.once('exit', code => {
    children.delete(child)
    resolve(code)
  }))
  return new Promise(resolve => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve({ variant, child, exited, error: `failed: not ready within ${readyTimeoutMs} ms` })
    }, readyTimeoutMs)
    const done = server => {
      clearTimeout(timer)
      child.off('message', onMessage)
      resolve({ variant, child, exited, ...server })
    }
    const onMessage = message => {
      if (message.type === 'ready') done({ port: message.port, cpus: message.cpus })
      else if (message.type === 'error') done({ error: message.reason })
    }
    child.on('message', onMessage)
    child.on('error', err => done({ error: `failed: ${err.message}` }))
    exited.then(code => done({ error: `failed: exited with code ${code} before listening` }))
  })
}

async function stopServer (server) {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL')
  await server.exited
}

/** The server's own CPU time, asked over IPC. */
function serverCpuUsage (server) {
  return new Promise(resolve => {
    const timer = setTimeout(() => {
      server.child.off('message', onMessage)
      resolve(null)
    }, 2000)
    const onMessage = message => {
      if (message.type !== 'cpu') return
      clearTimeout(timer)
      server.child.off('message', onMessage)
      resolve(message.usage)
    }
    server.child.on('message', onMessage)
    server.child.send({ type: 'cpu' })
  })
}

const cpuMs = usage => (usage.user + usage.system) / 1000

module.exports = { killAll, startServer, stopServer, serverCpuUsage, cpuMs }
