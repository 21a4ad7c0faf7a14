'use strict'

// Correctness gate: one request per server before it is timed. A variant whose answer would make
// a browser behave differently from what the scenario requires is reported WRONG and never timed,
// so a fast wrong answer cannot win. Checks the browser-relevant outcome, not identical bytes.

const http = require('node:http')
const { bareStatus, checksStatusOnly } = require('./scenarios')

const TIMEOUT_MS = 5000

/** One request; resolves { status, headers, rawHeaders }. */
function fetchOnce (port, request) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      path: '/data',
      method: request.method,
      headers: request.headers,
      agent: false
    }, res => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders }))
    })
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)))
    req.on('error', reject)
    req.end()
  })
}

/** Every value of one header, from the raw list (Node joins or drops repeated lines). */
function rawValues (rawHeaders, name) {
  const values = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === name) values.push(rawHeaders[i + 1])
  }
  return values
}

const tokens = value => (value ?? '').split(',').map(t => t.trim()).filter(Boolean)

function statusMatches (expected, status) {
  if (typeof expected === 'number') return status === expected
  if (expected === '2xx') return status >= 200 && status < 300
  if (expected === 'not-5xx') return status >= 200 && status < 500
  throw new Error(`unknown status expectation ${expected}`)
}

/** Problems with one answer, as short sentences; an empty list means correct. */
function problems (scenario, variant, res) {
  const out = []
  const expect = checksStatusOnly(variant) ? { status: bareStatus(scenario) } : scenario.expect
  if (!statusMatches(expect.status, res.status)) out.push(`status ${res.status}, expected ${expect.status}`)
  if (checksStatusOnly(variant)) return out

  const origin = scenario.request.headers.origin
  const allowOrigin = rawValues(res.rawHeaders, 'access-control-allow-origin')
  if (allowOrigin.length > 1) out.push(`Access-Control-Allow-Origin sent ${allowOrigin.length} times`)
  const granted = allowOrigin.length === 1 &&
    (allowOrigin[0] === origin || (allowOrigin[0] === '*' && !expect.credentials))
  if (expect.allowOrigin === null) {
    // Refused (or no Origin): the browser must not see a grant for this origin.
    if (granted) out.push(`Access-Control-Allow-Origin: ${allowOrigin[0]} grants a refused origin`)
  } else if (allowOrigin.length !== 1 || allowOrigin[0] !== expect.allowOrigin) {
    out.push(`Access-Control-Allow-Origin: ${allowOrigin.join(' | ') || '(absent)'}, expected ${expect.allowOrigin}`)
  }

  const vary = rawValues(res.rawHeaders, 'vary').flatMap(tokens).map(t => t.toLowerCase())
  const varyOrigin = vary.filter(t => t === 'origin').length
  if (varyOrigin > 1) out.push(`Vary lists Origin ${varyOrigin} times`)
  if (expect.varyOrigin === true && varyOrigin === 0 && !vary.includes('*')) {
    out.push(`Vary: ${vary.join(', ') || '(absent)'} lacks Origin`)
  }

  const credentials = res.headers['access-control-allow-credentials']
  if (expect.credentials && credentials !== 'true') {
    out.push(`Access-Control-Allow-Credentials: ${credentials ?? '(absent)'}, expected true`)
  }
  if (!expect.credentials && expect.allowOrigin !== null && credentials !== undefined) {
    out.push(`unexpected Access-Control-Allow-Credentials: ${credentials}`)
  }

  // Methods compare byte-case-sensitively, header names case-insensitively (Fetch standard).
  const methods = tokens(res.headers['access-control-allow-methods'])
  for (const method of expect.allowMethods ?? []) {
    if (!methods.includes(method) && !methods.includes('*')) {
      out.push(`Access-Control-Allow-Methods: ${methods.join(', ') || '(absent)'} lacks ${method}`)
    }
  }
  const headerList = (name, wanted, allowStar) => {
    const names = tokens(res.headers[name]).map(t => t.toLowerCase())
    for (const header of wanted ?? []) {
      if (!names.includes(header) && !(allowStar && names.includes('*'))) {
        out.push(`${name}: ${names.join(', ') || '(absent)'} lacks ${header}`)
      }
    }
  }
  headerList('access-control-allow-headers', expect.allowHeaders, !expect.credentials)
  headerList('access-control-expose-headers', expect.exposeHeaders, !expect.credentials)
  return out
}

/** One line summing up an answer, printed next to the verdict. */
function summary (res) {
  const pick = name => res.headers[name] === undefined ? '' : ` ${name.replace(/^access-control-/, 'ac-')}=${res.headers[name]}`
  return `${res.status}` + ['access-control-allow-origin', 'vary', 'access-control-allow-credentials',
    'access-control-allow-methods', 'access-control-allow-headers', 'access-control-expose-headers']
    .map(pick).join('')
}

/** The answer's Access-Control-* and Vary headers, as [name, value] pairs in the order sent. */
function corsHeaders (rawHeaders) {
  const pairs = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase()
    if (name === 'vary' || name.startsWith('access-control-')) pairs.push([name, rawHeaders[i + 1]])
  }
  return pairs
}

async function checkServer (port, scenario, variant) {
  const res = await fetchOnce(port, scenario.request)
  return { problems: problems(scenario, variant, res), summary: summary(res), status: res.status, corsHeaders: corsHeaders(res.rawHeaders) }
}

module.exports = { checkServer }
