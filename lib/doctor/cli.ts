// `fastify-cors-guard check <url> --origin <origin>`: reads the command line, does what a browser
// would do, prints the verdict and returns the exit code.
import { type ParseArgsConfig, parseArgs } from 'node:util'
import {
  type BrowserRequest,
  type RequestHeader,
  actualRequestHeaders,
  checkActualResponse,
  checkPreflight,
  planRequest,
  preflightRequestHeaders
} from './browser-check'
import {
  isForbiddenMethod,
  isForbiddenRequestHeader,
  isToken,
  normalizeMethod,
  trimHttpWhitespace
} from '../fetch-rules'
import { type ProbeOutcome, sendProbe } from './http-probe'
import {
  type DoctorOutcome,
  type SentRequest,
  type StepName,
  type StepRecord,
  type Verdict,
  formatJson,
  formatText,
  formatWaiting,
  verdictOf
} from './report'

export interface TextSink {
  write (text: string): unknown
}

export interface DoctorIO {
  readonly stdout: TextSink
  readonly stderr: TextSink
  /** Whether stderr is a terminal; the waiting line shows only there unless --progress asks for it. */
  readonly isTTY: boolean
  /** Milliseconds since any fixed point. */
  readonly now: () => number
  /** Calls `tick` every `intervalMs` until the returned function is called. Defaults to setInterval. */
  readonly every?: (intervalMs: number, tick: () => void) => () => void
}

export const USAGE = `Usage: fastify-cors-guard check <url> --origin <origin> [options]

Does what a browser on a page from <origin> does when a script calls fetch(<url>): sends the
preflight if one is needed, then the request, and says whether the browser lets the call through,
and if not, why and what the server must change.

Options:
  --origin <origin>   the page's origin, e.g. https://app.example.com, or null (required)
  --method <method>   the method as written in fetch(), default GET (fetch() upper-cases
                      delete, get, head, options, post and put, but not patch)
  --header <header>   a request header set by the script, "Name: value" or "Name";
                      repeat for more headers
  --credentials       the script sends cookies: fetch(url, { credentials: 'include' })
  --json              print one JSON object instead of text
  --timeout <ms>      give up waiting for each response after <ms> milliseconds (default 10000)
  --progress          show the waiting line on stderr even when it is not a terminal
  -h, --help          print this help

Exit codes: 0 allowed, 1 blocked, 2 usage error, network failure or timeout.
`

const OPTIONS = {
  origin: { type: 'string' },
  method: { type: 'string', default: 'GET' },
  header: { type: 'string', multiple: true, default: [] as string[] },
  credentials: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  timeout: { type: 'string', default: '10000' },
  progress: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
} satisfies ParseArgsConfig['options']

const EXIT_CODE: Record<Verdict, number> = { allowed: 0, blocked: 1, error: 2 }
const USAGE_ERROR_EXIT_CODE = 2
const PROGRESS_INTERVAL_MS = 1000
// setTimeout turns longer delays into 1 ms.
const MAX_TIMEOUT_MS = 2 ** 31 - 1
// Node refuses to send other bytes in a header value.
const SENDABLE_HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

interface DoctorOptions {
  readonly request: BrowserRequest
  readonly json: boolean
  readonly timeoutMs: number
  readonly progress: boolean
}

class UsageError extends Error {}

export async function main (argv: readonly string[], io: DoctorIO): Promise<number> {
  let options: DoctorOptions | 'help'
  try {
    options = parseCommandLine(argv)
  } catch (error) {
    io.stderr.write(`fastify-cors-guard: ${(error as Error).message}\nRun "fastify-cors-guard --help" for usage.\n`)
    return USAGE_ERROR_EXIT_CODE
  }
  if (options === 'help') {
    io.stdout.write(USAGE)
    return EXIT_CODE.allowed
  }
  const outcome = await diagnose(options, io)
  io.stdout.write(options.json ? formatJson(outcome) : formatText(outcome))
  return EXIT_CODE[verdictOf(outcome)]
}

export function processIO (): DoctorIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: process.stderr.isTTY === true,
    now: () => performance.now()
  }
}

function parseCommandLine (argv: readonly string[]): DoctorOptions | 'help' {
  // parseArgs throws on unknown options and missing values; main() reports those as usage errors.
  const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true })
  if (values.help) return 'help'
  const [command, target, ...extra] = positionals
  if (command !== 'check') throw new UsageError(command === undefined ? 'missing the command: check' : `unknown command "${command}"`)
  if (target === undefined) throw new UsageError('missing the <url> to check')
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra.join(' ')}"`)
  if (values.origin === undefined) throw new UsageError('missing --origin <origin>, the origin of the calling page')
  return {
    request: {
      url: parseTarget(target),
      origin: parseOrigin(values.origin),
      method: parseMethod(values.method),
      headers: parseHeaders(values.header),
      credentials: values.credentials
    },
    json: values.json,
    timeoutMs: parseTimeout(values.timeout),
    progress: values.progress
  }
}

function parseTarget (text: string): URL {
  if (!URL.canParse(text)) throw new UsageError(`"${text}" is not a URL`)
  const url = new URL(text)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`only http: and https: URLs can be checked, not ${url.protocol}`)
  // Fetch standard: a Request cannot be built from a URL that includes credentials.
  if (url.username !== '' || url.password !== '') throw new UsageError('fetch() refuses URLs with user:password@ in them')
  return url
}

function parseOrigin (text: string): string {
  // Opaque origins (sandboxed iframes, file: pages) are sent as `null`.
  if (text === 'null') return text
  const serialized = URL.canParse(text) ? new URL(text).origin : 'null'
  if (serialized === 'null') throw new UsageError(`--origin "${text}" is not an origin such as https://app.example.com (or null)`)
  if (serialized !== text) {
    throw new UsageError(`--origin "${text}" is not how a browser writes an origin (scheme://host[:port], no default port, path or trailing slash); did you mean ${serialized}?`)
  }
  return text
}

function parseMethod (text: string): string {
  if (!isToken(text)) throw new UsageError(`--method "${text}" is not a method name`)
  if (isForbiddenMethod(text)) throw new UsageError(`fetch() refuses the method ${text}`)
  return normalizeMethod(text)
}

function parseHeaders (texts: readonly string[]): RequestHeader[] {
  const values = new Map<string, string>()
  for (const text of texts) {
    const colon = text.indexOf(':')
    const name = trimHttpWhitespace(colon === -1 ? text : text.slice(0, colon)).toLowerCase()
    const value = colon === -1 ? '' : trimHttpWhitespace(text.slice(colon + 1))
    if (!isToken(name)) throw new UsageError(`--header "${text}" does not start with a header name`)
    if (!SENDABLE_HEADER_VALUE.test(value)) throw new UsageError(`--header "${text}" has characters a header value cannot hold`)
    if (isForbiddenRequestHeader(name)) {
      throw new UsageError(`--header "${text}": a browser does not let a script set ${name} (use --credentials for cookies)`)
    }
    const earlier = values.get(name)
    // A browser sends a header set twice once, with both values joined by ", ".
    values.set(name, earlier === undefined ? value : `${earlier}, ${value}`)
  }
  return [...values].map(([name, value]) => ({ name, value }))
}

function parseTimeout (text: string): number {
  const timeoutMs = /^\d+$/.test(text) ? Number(text) : 0
  if (timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new UsageError(`--timeout must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, not "${text}"`)
  }
  return timeoutMs
}

async function diagnose (options: DoctorOptions, io: DoctorIO): Promise<DoctorOutcome> {
  const { request } = options
  const plan = planRequest(request)
  const steps: StepRecord[] = []
  if (plan.sameOrigin) return { request, plan, steps }
  if (plan.preflightReasons.length > 0) {
    const sent = { method: 'OPTIONS', url: request.url.href, headers: preflightRequestHeaders(request, plan) }
    const answer = await probe('preflight', sent, options, io)
    if (!answer.ok) return { request, plan, steps, failure: { step: 'preflight', ...answer.failure } }
    const verdict = checkPreflight(answer.response, request, plan)
    steps.push({ name: 'preflight', sent, response: answer.response, verdict })
    // Fetch standard: after a failed preflight the actual request is never sent.
    if (!verdict.allowed) return { request, plan, steps }
  }
  const sent = { method: request.method, url: request.url.href, headers: actualRequestHeaders(request) }
  const answer = await probe('actual', sent, options, io)
  if (!answer.ok) return { request, plan, steps, failure: { step: 'actual', ...answer.failure } }
  steps.push({ name: 'actual', sent, response: answer.response, verdict: checkActualResponse(answer.response, request) })
  return { request, plan, steps }
}

async function probe (step: StepName, sent: SentRequest, options: DoctorOptions, io: DoctorIO): Promise<ProbeOutcome> {
  const pending = sendProbe({ url: options.request.url, method: sent.method, headers: sent.headers, timeoutMs: options.timeoutMs })
  if (!options.progress && !io.isTTY) return await pending
  const started = io.now()
  let lineShown = false
  const stop = (io.every ?? everyInterval)(PROGRESS_INTERVAL_MS, () => {
    const line = formatWaiting(step, options.request.url, io.now() - started)
    // A terminal gets one line redrawn in place; a log gets one line per update.
    io.stderr.write(io.isTTY ? `\r${line}\u001b[K` : `${line}\n`)
    lineShown = true
  })
  const answer = await pending
  stop()
  if (lineShown && io.isTTY) io.stderr.write('\r\u001b[K')
  return answer
}

function everyInterval (intervalMs: number, tick: () => void): () => void {
  const timer = setInterval(tick, intervalMs)
  return () => { clearInterval(timer) }
}
