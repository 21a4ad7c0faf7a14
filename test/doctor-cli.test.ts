import t from 'tap'
import { spawn } from 'node:child_process'
import { EventEmitter, once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import Fastify from 'fastify'
import cors from '@fastify/cors'
import { type DoctorIO, USAGE, processIO } from '../lib/doctor/cli'
import { doctor, type Captured } from './support/doctor'

const page = 'https://app.example.com'

function baseUrl (server: net.Server): string {
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
}

// (a) A Fastify server configured with @fastify/cors, as most Fastify users have it.
async function startFastifyWithCors () {
  const app = Fastify()
  const methodsSeen: string[] = []
  app.addHook('onRequest', async (request) => { methodsSeen.push(request.method) })
  await app.register(cors, {
    origin: [page],
    methods: ['GET', 'POST', 'PUT', 'PATCH'],
    allowedHeaders: ['content-type', 'x-api-key'],
    credentials: true,
    exposedHeaders: ['x-total'],
    maxAge: 600
  })
  app.get('/items', async (_request, reply) => reply.header('x-total', '3').send([]))
  app.put('/items', async () => ({ saved: true }))
  app.delete('/items', async () => ({ deleted: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `${baseUrl(app.server)}/items`, methodsSeen }
}

// (b) A hand-written node:http server with the CORS mistakes people make, one per path.
function startBrokenServer () {
  const events = new EventEmitter()
  const server = http.createServer((request, response) => {
    const origin = String(request.headers.origin)
    const preflight = request.method === 'OPTIONS'
    events.emit('request', request)
    switch (request.url) {
      case '/wildcard-with-credentials':
        response.writeHead(preflight ? 204 : 200, {
          'access-control-allow-origin': '*',
          'access-control-allow-credentials': 'true',
          'access-control-allow-methods': '*',
          'access-control-allow-headers': '*'
        }).end()
        return
      case '/reflect-without-vary':
        response.writeHead(preflight ? 204 : 200, { 'access-control-allow-origin': origin }).end('{}')
        return
      case '/preflight-404':
        response.writeHead(preflight ? 404 : 200, preflight ? {} : { 'access-control-allow-origin': '*' }).end()
        return
      case '/preflight-302':
        response.writeHead(302, { location: '/login', 'access-control-allow-origin': '*' }).end()
        return
      case '/two-origins':
        response.setHeader('access-control-allow-origin', [origin, origin])
        response.end()
        return
      case '/nothing-readable':
        // Chunked, undated: not even Content-Length is left for a script to read.
        response.sendDate = false
        response.writeHead(200, { 'access-control-allow-origin': '*' })
        response.write('x')
        response.end()
        return
      case '/drop-after-preflight':
        if (preflight) {
          response.writeHead(204, { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'PUT' }).end()
          return
        }
        request.socket.destroy()
        return
      case '/slow':
        events.emit('slow', response)
        return
      default:
        // Lets through whatever the preflight asks for, as @fastify/cors does by default.
        response.writeHead(200, {
          'access-control-allow-origin': '*',
          'access-control-allow-headers': request.headers['access-control-request-headers'] ?? ''
        }).end()
    }
  })
  return { server, events }
}

// A server that accepts connections and never answers.
function startSilentServer () {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => { sockets.add(socket) })
  const closeSockets = () => { for (const socket of sockets) socket.destroy() }
  return { server, closeSockets }
}

async function listen (server: net.Server): Promise<void> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
}

async function unusedPort (): Promise<number> {
  const server = net.createServer()
  await listen(server)
  const { port } = server.address() as net.AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

t.test('against @fastify/cors', async (t) => {
  const { app, url, methodsSeen } = await startFastifyWithCors()
  t.teardown(() => app.close())
  t.beforeEach(() => { methodsSeen.length = 0 })

  t.test('a simple GET from an allowed origin with credentials is allowed and lists the readable headers', async (t) => {
    const result = await doctor(['check', url, '--origin', page, '--credentials'])
    t.equal(result.code, 0)
    t.match(result.stdout, new RegExp(`^ALLOWED: a page on ${page} can call GET ${url} with credentials and read the response\n`))
    t.match(result.stdout, 'preflight   not needed (a simple request)')
    t.match(result.stdout, `Access-Control-Allow-Origin: ${page}`)
    t.match(result.stdout, 'readable    content-length, content-type, x-total (the response headers a script can read)')
    t.same(methodsSeen, ['GET'], 'no preflight was sent')
    t.equal(result.stderr, '')
  })

  t.test('a PUT with an allowed custom header passes the preflight and then sends the request', async (t) => {
    const result = await doctor(['check', url, '--origin', page, '--method', 'put', '--header', 'X-Api-Key: secret'])
    t.equal(result.code, 0)
    t.match(result.stdout, /^ALLOWED: .* PUT /)
    t.match(result.stdout, `Preflight: OPTIONS ${url} -> 204, passed`)
    t.match(result.stdout, 'Access-Control-Request-Headers: x-api-key')
    t.match(result.stdout, 'a browser may reuse this preflight for 600 s')
    t.match(result.stdout, `Actual request: PUT ${url} -> 200, passed`)
    t.same(methodsSeen, ['OPTIONS', 'PUT'])
  })

  t.test('a request from an origin the server does not allow is blocked with the header it needs', async (t) => {
    const result = await doctor(['check', url, '--origin', 'https://evil.example.net'])
    t.equal(result.code, 1)
    t.match(result.stdout, /^BLOCKED: a page on https:\/\/evil\.example\.net cannot call GET /)
    t.match(result.stdout, 'the actual request failed: the response has no Access-Control-Allow-Origin header')
    t.match(result.stdout, 'fix         the server must answer with Access-Control-Allow-Origin: https://evil.example.net')
    t.notMatch(result.stdout, 'readable')
  })

  t.test('a refused method fails the preflight and the actual request is never sent', async (t) => {
    const result = await doctor(['check', url, '--origin', page, '--method', 'DELETE'])
    t.equal(result.code, 1)
    t.match(result.stdout, 'the preflight failed: the method DELETE is not in Access-Control-Allow-Methods ("GET, POST, PUT, PATCH")')
    t.match(result.stdout, 'fix         the server must answer with Access-Control-Allow-Methods: GET, POST, PUT, PATCH, DELETE')
    t.match(result.stdout, 'Actual request: not sent, because a browser stops after a failed preflight')
    t.same(methodsSeen, ['OPTIONS'], 'the server never saw the DELETE')
  })

  t.test('a lower-case patch is refused by a server that lists PATCH, as in a browser', async (t) => {
    const result = await doctor(['check', url, '--origin', page, '--method', 'patch'])
    t.equal(result.code, 1)
    t.match(result.stdout, 'Access-Control-Request-Method: patch')
    t.match(result.stdout, 'fetch() does not upper-case patch')
  })

  t.test('a refused request header fails the preflight, naming the header', async (t) => {
    const result = await doctor(['check', url, '--origin', page, '--header', 'X-Trace: 1', '--header', 'Content-Type: application/json'])
    t.equal(result.code, 1)
    t.match(result.stdout, 'Access-Control-Request-Headers: content-type,x-trace')
    t.match(result.stdout, 'does not list x-trace')
    t.match(result.stdout, 'Access-Control-Allow-Headers: content-type, x-api-key, x-trace')
  })

  t.test('--json prints one object with the verdict, the steps, the headers seen, the reasons and the fixes', async (t) => {
    const result = await doctor(['check', url, '--origin', page, '--method', 'DELETE', '--credentials', '--json'])
    t.equal(result.code, 1)
    const report = JSON.parse(result.stdout)
    t.equal(report.verdict, 'blocked')
    t.match(report.request, { url, origin: page, method: 'DELETE', credentials: true, sameOrigin: false, headers: {} })
    t.equal(report.steps.length, 1)
    t.match(report.steps[0], {
      step: 'preflight',
      request: { method: 'OPTIONS', headers: { origin: page, 'access-control-request-method': 'DELETE' } },
      response: { status: 204, headers: { 'access-control-allow-methods': 'GET, POST, PUT, PATCH' } },
      allowed: false,
      cacheSeconds: 600
    })
    t.same(report.reasons.map((reason: { code: string }) => reason.code), ['method-not-allowed'])
    t.same(report.fixes, ['the server must answer with Access-Control-Allow-Methods: GET, POST, PUT, PATCH, DELETE'])
    t.same(report.warnings, [])
    t.equal(report.error, null)
  })
})

t.test('against a hand-written server with common mistakes', async (t) => {
  const { server, events } = startBrokenServer()
  await listen(server)
  t.teardown(() => { server.close() })
  const base = baseUrl(server)

  t.test('Access-Control-Allow-Origin * with credentials is blocked, with the exact origin to send instead', async (t) => {
    const result = await doctor(['check', `${base}/wildcard-with-credentials`, '--origin', page, '--credentials', '--method', 'PUT'])
    t.equal(result.code, 1)
    t.match(result.stdout, 'Access-Control-Allow-Origin is "*", which a browser refuses when the request carries credentials')
    t.match(result.stdout, `the server must answer with Access-Control-Allow-Origin: ${page} (this origin, not *)`)
    t.match(result.stdout, 'with credentials "*" is a method name, not a wildcard')
  })

  t.test('a reflected origin without Vary: Origin is allowed but warned about', async (t) => {
    const result = await doctor(['check', `${base}/reflect-without-vary`, '--origin', page])
    t.equal(result.code, 0)
    t.match(result.stdout, 'warning     Access-Control-Allow-Origin names one origin but Vary (absent) does not list Origin')
    t.match(result.stdout, 'fix         the server must add Origin to Vary (Vary: Origin)')
  })

  t.test('a preflight answered 404 without CORS headers is blocked and says no route answers OPTIONS', async (t) => {
    const result = await doctor(['check', `${base}/preflight-404`, '--origin', page, '--method', 'PUT'])
    t.equal(result.code, 1)
    t.match(result.stdout, '-> 404, FAILED')
    t.match(result.stdout, 'received    no CORS headers')
    t.match(result.stdout, 'no route answers OPTIONS here')
  })

  t.test('a redirected preflight is blocked, showing where it pointed', async (t) => {
    const result = await doctor(['check', `${base}/preflight-302`, '--origin', page, '--header', 'x-api-key: k'])
    t.equal(result.code, 1)
    t.match(result.stdout, 'Location: /login')
    t.match(result.stdout, 'a browser never follows a redirect for a preflight')
  })

  t.test('two Access-Control-Allow-Origin lines are read as one value with two origins and blocked', async (t) => {
    const result = await doctor(['check', `${base}/two-origins`, '--origin', page])
    t.equal(result.code, 1)
    t.match(result.stdout, `Access-Control-Allow-Origin is "${page}, ${page}": several values`)
  })

  t.test('a response whose headers are all hidden from scripts says none is readable', async (t) => {
    const result = await doctor(['check', `${base}/nothing-readable`, '--origin', page])
    t.equal(result.code, 0)
    t.match(result.stdout, 'readable    none (the response headers a script can read)')
  })

  t.test('headers given twice are sent once with both values, and a bare name is sent empty', async (t) => {
    const seen: http.IncomingHttpHeaders[] = []
    const record = (request: http.IncomingMessage) => { seen.push(request.headers) }
    events.on('request', record)
    t.teardown(() => { events.off('request', record) })
    const result = await doctor(['check', `${base}/echo`, '--origin', 'null', '--header', 'X-A: 1', '--header', 'x-a:2', '--header', 'X-Flag'])
    t.equal(result.code, 0)
    t.equal(seen.length, 2)
    t.match(seen[0], { origin: 'null', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-a,x-flag' })
    t.match(seen[1], { origin: 'null', accept: '*/*', 'x-a': '1, 2', 'x-flag': '' })
    t.match(result.stdout, 'headers     X-A: 1, 2\n              X-Flag: \n')
  })

  t.test('the page\'s own origin needs no CORS, so nothing is sent', async (t) => {
    let requests = 0
    const count = () => { requests++ }
    events.on('request', count)
    t.teardown(() => { events.off('request', count) })
    const result = await doctor(['check', `${base}/plain`, '--origin', base])
    t.equal(result.code, 0)
    t.match(result.stdout, `ALLOWED: ${base}/plain has the page's own origin ${base}`)
    t.equal(requests, 0)
  })
})

t.test('when the server cannot be reached or does not answer', async (t) => {
  const silent = startSilentServer()
  await listen(silent.server)
  t.teardown(() => { silent.closeSockets(); silent.server.close() })
  const silentUrl = `${baseUrl(silent.server)}/items`
  const { server: broken } = startBrokenServer()
  await listen(broken)
  t.teardown(() => { broken.close() })

  t.test('a refused connection is a network failure with exit code 2', async (t) => {
    const url = `http://127.0.0.1:${await unusedPort()}/items`
    const result = await doctor(['check', url, '--origin', page])
    t.equal(result.code, 2)
    t.match(result.stdout, new RegExp(`^ERROR: network failure during the actual request to ${url}: connect ECONNREFUSED`))
    t.match(result.stdout, 'no verdict: no HTTP response came back')
    t.notMatch(result.stdout, 'Actual request:')
  })

  t.test('a server that never answers the preflight times out with exit code 2', async (t) => {
    const result = await doctor(['check', silentUrl, '--origin', page, '--method', 'PUT', '--timeout', '50'])
    t.equal(result.code, 2)
    t.match(result.stdout, `ERROR: timeout during the preflight to ${silentUrl}: no response within 50 ms`)
  })

  t.test('a connection dropped on the actual request after a passed preflight keeps the preflight in the report', async (t) => {
    const url = `${baseUrl(broken)}/drop-after-preflight`
    const result = await doctor(['check', url, '--origin', page, '--method', 'PUT', '--json'])
    t.equal(result.code, 2)
    const report = JSON.parse(result.stdout)
    t.equal(report.verdict, 'error')
    t.same(report.error, { step: 'actual', kind: 'network', message: 'socket hang up' })
    t.match(report.steps, [{ step: 'preflight', allowed: true }])
    const text = await doctor(['check', url, '--origin', page, '--method', 'PUT'])
    t.match(text.stdout, `ERROR: network failure during the actual request to ${url}: socket hang up`)
    t.match(text.stdout, 'Preflight: OPTIONS')
    t.notMatch(text.stdout, 'Actual request: not sent')
  })

  t.test('an https URL whose server speaks plain http is a network failure, not a hang', async (t) => {
    const url = `${baseUrl(broken).replace('http:', 'https:')}/items`
    const result = await doctor(['check', url, '--origin', page, '--timeout', '5000'])
    t.equal(result.code, 2)
    t.match(result.stdout, /^ERROR: network failure during the actual request to https:/)
    t.match(result.stdout.split('\n')[1], /^ {2}no verdict/, 'the multi-line TLS error is folded into the headline')
  })
})

t.test('the waiting line on stderr', async (t) => {
  const { server, events } = startBrokenServer()
  await listen(server)
  t.teardown(() => { server.close() })
  const url = `${baseUrl(server)}/slow`

  // Runs the doctor against /slow; `whileWaiting` runs once the server holds the request.
  async function slowCall (args: string[], overrides: Partial<DoctorIO>, whileWaiting: () => void): Promise<Captured> {
    const arrived = once(events, 'slow')
    const running = doctor(['check', url, '--origin', page, ...args], overrides)
    const [response] = await arrived as [http.ServerResponse]
    whileWaiting()
    response.writeHead(200, { 'access-control-allow-origin': '*' }).end()
    return await running
  }

  t.test('on a terminal, a slow response shows one waiting line, redrawn in place and cleared at the end', async (t) => {
    let clock = 5000
    let tick = () => {}
    let stopped = false
    const result = await slowCall([], {
      isTTY: true,
      now: () => clock,
      every: (intervalMs, onTick) => {
        t.equal(intervalMs, 1000)
        tick = onTick
        return () => { stopped = true }
      }
    }, () => {
      clock += 1000
      tick()
      clock += 1100
      tick()
    })
    t.equal(result.code, 0)
    t.ok(stopped, 'the ticker is stopped once the response arrives')
    t.equal(result.stderr,
      `\rwaiting for response from ${url} (1.0 s)\u001b[K` +
      `\rwaiting for response from ${url} (2.1 s)\u001b[K` +
      '\r\u001b[K')
  })

  t.test('--progress forces the waiting line into a log, one line per update and nothing to clear', async (t) => {
    let clock = 0
    let tick = () => {}
    const result = await slowCall(['--progress'], {
      now: () => clock,
      every: (_intervalMs, onTick) => {
        tick = onTick
        return () => {}
      }
    }, () => {
      clock = 1500
      tick()
      clock = 2500
      tick()
    })
    t.equal(result.code, 0)
    t.equal(result.stderr, `waiting for response from ${url} (1.5 s)\nwaiting for response from ${url} (2.5 s)\n`)
  })

  t.test('without a terminal or --progress no ticker is started', async (t) => {
    let started = false
    const result = await slowCall([], {
      every: () => {
        started = true
        return () => {}
      }
    }, () => {})
    t.equal(result.code, 0)
    t.notOk(started)
    t.equal(result.stderr, '')
  })

  t.test('without an injected ticker the doctor uses a real interval and still gives its verdict', async (t) => {
    const result = await slowCall(['--progress'], {}, () => {})
    t.equal(result.code, 0)
    t.match(result.stdout, /^ALLOWED/)
  })
})

t.test('usage errors print a one-line reason on stderr and exit with 2', async (t) => {
  const cases: Array<[string[], string]> = [
    [[], 'missing the command: check'],
    [['test', 'http://a.test'], 'unknown command "test"'],
    [['check', '--origin', page], 'missing the <url> to check'],
    [['check', 'http://a.test', 'http://b.test', '--origin', page], 'unexpected argument "http://b.test"'],
    [['check', 'http://a.test'], 'missing --origin <origin>'],
    [['check', 'http://a.test', '--origin', page, '--bogus'], "Unknown option '--bogus'"],
    [['check', 'http://a.test', '--origin'], "Option '--origin <value>' argument missing"],
    [['check', 'not a url', '--origin', page], '"not a url" is not a URL'],
    [['check', 'ftp://a.test/file', '--origin', page], 'only http: and https: URLs can be checked, not ftp:'],
    [['check', 'http://user@a.test/', '--origin', page], 'fetch() refuses URLs with user:password@ in them'],
    [['check', 'http://:secret@a.test/', '--origin', page], 'fetch() refuses URLs with user:password@ in them'],
    [['check', 'http://a.test', '--origin', 'https://app.example.com/'], 'did you mean https://app.example.com?'],
    [['check', 'http://a.test', '--origin', 'https://App.example.com:443'], 'did you mean https://app.example.com?'],
    [['check', 'http://a.test', '--origin', 'file:///index.html'], 'is not an origin such as https://app.example.com'],
    [['check', 'http://a.test', '--origin', 'app.example.com'], '--origin "app.example.com" is not an origin'],
    [['check', 'http://a.test', '--origin', page, '--method', 'GE T'], '--method "GE T" is not a method name'],
    [['check', 'http://a.test', '--origin', page, '--method', 'trace'], 'fetch() refuses the method trace'],
    [['check', 'http://a.test', '--origin', page, '--header', ': value'], 'does not start with a header name'],
    [['check', 'http://a.test', '--origin', page, '--header', 'X-A: a\nb'], 'has characters a header value cannot hold'],
    [['check', 'http://a.test', '--origin', page, '--header', 'Cookie: id=1'], 'a browser does not let a script set cookie (use --credentials for cookies)'],
    [['check', 'http://a.test', '--origin', page, '--timeout', '2s'], '--timeout must be a whole number of milliseconds from 1 to 2147483647, not "2s"'],
    [['check', 'http://a.test', '--origin', page, '--timeout', '0'], 'not "0"'],
    [['check', 'http://a.test', '--origin', page, '--timeout', '2147483648'], 'not "2147483648"']
  ]
  for (const [args, reason] of cases) {
    const result = await doctor(args)
    t.equal(result.code, 2, args.join(' '))
    t.equal(result.stdout, '', 'nothing on stdout')
    t.match(result.stderr, /^fastify-cors-guard: /)
    t.match(result.stderr, reason)
    t.match(result.stderr, 'Run "fastify-cors-guard --help" for usage.\n')
  }
})

t.test('--help and -h print the usage with the exit codes and exit with 0', async (t) => {
  for (const flag of ['--help', '-h']) {
    const result = await doctor([flag])
    t.equal(result.code, 0)
    t.equal(result.stdout, USAGE)
  }
  t.match(USAGE, 'Exit codes: 0 allowed, 1 blocked, 2 usage error, network failure or timeout.')
})

t.test('the real IO writes to the process streams and reads a monotonic clock', async (t) => {
  const io = processIO()
  t.equal(io.stdout, process.stdout)
  t.equal(io.stderr, process.stderr)
  t.equal(io.isTTY, process.stderr.isTTY === true)
  const first = io.now()
  t.ok(io.now() >= first)
})

t.test('the bin entry passes the process arguments to main and exits with its code', async (t) => {
  const bin = path.join(__dirname, '..', 'lib', 'doctor', 'bin.ts')
  async function runBin (args: string[]) {
    const child = spawn(process.execPath, [...process.execArgv, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const [code] = await once(child, 'close') as [number]
    return { code, stdout, stderr }
  }
  const help = await runBin(['--help'])
  t.equal(help.code, 0)
  t.equal(help.stdout, USAGE)
  const usage = await runBin(['check'])
  t.equal(usage.code, 2)
  t.match(usage.stderr, 'missing the <url> to check')
})
