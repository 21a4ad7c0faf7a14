import t from 'tap'
import {
  type BrowserRequest,
  type HeaderMap,
  type StepVerdict,
  actualRequestHeaders,
  checkActualResponse,
  checkPreflight,
  planRequest,
  preflightRequestHeaders
} from '../lib/doctor/browser-check'
import {
  isForbiddenMethod,
  isForbiddenRequestHeader,
  isSafelistedRequestHeader,
  normalizeMethod,
  parseTokenList,
  unsafeRequestHeaderNames
} from '../lib/fetch-rules'

const page = 'https://app.example.com'

function browserRequest (overrides: Partial<BrowserRequest> = {}): BrowserRequest {
  return { url: new URL('http://api.test/items'), origin: page, method: 'GET', headers: [], credentials: false, ...overrides }
}

function preflightVerdict (headers: HeaderMap, overrides: Partial<BrowserRequest> = {}, status = 204) {
  const request = browserRequest({ method: 'PUT', ...overrides })
  return checkPreflight({ status, headers }, request, planRequest(request))
}

function actualVerdict (headers: HeaderMap, overrides: Partial<BrowserRequest> = {}, status = 200) {
  return checkActualResponse({ status, headers }, browserRequest(overrides))
}

function codes (verdict: StepVerdict): string[] {
  return verdict.problems.map((problem) => problem.code)
}

function warningCodes (verdict: StepVerdict): string[] {
  return verdict.warnings.map((warning) => warning.code)
}

const goodPreflight = {
  'access-control-allow-origin': page,
  'access-control-allow-methods': 'GET, PUT',
  'access-control-max-age': '600',
  vary: 'Origin'
}

t.test('fetch() upper-cases the six standard methods but leaves patch and custom methods as written', async (t) => {
  t.same(['delete', 'get', 'head', 'options', 'post', 'put'].map(normalizeMethod),
    ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])
  t.equal(normalizeMethod('patch'), 'patch')
  t.equal(normalizeMethod('Purge'), 'Purge')
})

t.test('CONNECT, TRACE and TRACK are methods fetch() refuses, in any case', async (t) => {
  t.ok(isForbiddenMethod('CONNECT'))
  t.ok(isForbiddenMethod('trace'))
  t.ok(isForbiddenMethod('Track'))
  t.notOk(isForbiddenMethod('PATCH'))
})

t.test('a script cannot set forbidden request headers, including any Proxy- or Sec- header', async (t) => {
  t.ok(isForbiddenRequestHeader('Cookie'))
  t.ok(isForbiddenRequestHeader('host'))
  t.ok(isForbiddenRequestHeader('Proxy-Authorization'))
  t.ok(isForbiddenRequestHeader('sec-fetch-mode'))
  t.notOk(isForbiddenRequestHeader('x-api-key'))
})

t.test('only the four safelisted request headers with harmless values avoid a preflight', async (t) => {
  t.ok(isSafelistedRequestHeader('Accept', 'application/json'))
  t.ok(isSafelistedRequestHeader('accept', 'text/html;\tq=0.9'), 'a tab is a safe byte')
  t.notOk(isSafelistedRequestHeader('accept', 'a"b'), 'a double quote is a CORS-unsafe byte')
  t.notOk(isSafelistedRequestHeader('accept', 'a\u0001b'), 'a control character is a CORS-unsafe byte')
  t.notOk(isSafelistedRequestHeader('accept', 'a\u007fb'), 'DEL is a CORS-unsafe byte')
  t.notOk(isSafelistedRequestHeader('accept', 'a'.repeat(129)), 'a value over 128 bytes is never safelisted')
  t.ok(isSafelistedRequestHeader('Accept-Language', 'en-US, fr;q=0.8'))
  t.notOk(isSafelistedRequestHeader('content-language', 'en (GB)'))
  t.ok(isSafelistedRequestHeader('Content-Type', 'text/plain'))
  t.ok(isSafelistedRequestHeader('content-type', 'Multipart/Form-Data ; boundary=x'))
  t.ok(isSafelistedRequestHeader('content-type', 'application/x-www-form-urlencoded;charset=UTF-8'))
  t.notOk(isSafelistedRequestHeader('content-type', 'application/json'))
  t.notOk(isSafelistedRequestHeader('content-type', 'text/plain; charset="utf-8"'), 'a quote makes even text/plain unsafe')
  t.notOk(isSafelistedRequestHeader('x-requested-with', 'XMLHttpRequest'))
})

t.test('the preflight lists unsafe header names in lower case, sorted and once each', async (t) => {
  t.same(unsafeRequestHeaderNames([
    { name: 'X-Trace', value: '1' },
    { name: 'accept', value: 'text/html' },
    { name: 'Authorization', value: 'Bearer x' },
    { name: 'x-trace', value: '2' }
  ]), ['authorization', 'x-trace'])
})

t.test('safelisted headers whose values add up to more than 1024 bytes all need a preflight', async (t) => {
  const long = { name: 'accept', value: 'a'.repeat(120) }
  t.same(unsafeRequestHeaderNames(Array.from({ length: 8 }, () => long)), [], '960 bytes are still fine')
  t.same(unsafeRequestHeaderNames(Array.from({ length: 9 }, () => long)), ['accept'])
})

t.test('a method or header list parses as comma-separated tokens, and anything else fails', async (t) => {
  t.same(parseTokenList(undefined), [])
  t.same(parseTokenList(' GET,PUT ,, \tDELETE '), ['GET', 'PUT', 'DELETE'])
  t.equal(parseTokenList('GET PUT'), undefined)
  t.equal(parseTokenList('"GET"'), undefined)
})

t.test('a GET, HEAD or POST with only safelisted headers needs no preflight', async (t) => {
  const plan = planRequest(browserRequest({ method: 'POST', headers: [{ name: 'content-type', value: 'text/plain' }] }))
  t.same(plan, { sameOrigin: false, preflightReasons: [], unsafeHeaderNames: [] })
})

t.test('a non-safelisted method or header is named as the reason for a preflight', async (t) => {
  const plan = planRequest(browserRequest({
    method: 'PUT',
    headers: [{ name: 'content-type', value: 'application/json' }, { name: 'x-api-key', value: 'k' }]
  }))
  t.equal(plan.preflightReasons.length, 2)
  t.match(plan.preflightReasons[0], 'the method PUT is not GET, HEAD or POST')
  t.match(plan.preflightReasons[1], 'the request headers content-type, x-api-key are not CORS-safelisted (Content-Type is')
  t.same(plan.unsafeHeaderNames, ['content-type', 'x-api-key'])
  const headerOnly = planRequest(browserRequest({ headers: [{ name: 'x-api-key', value: 'k' }] }))
  t.same(headerOnly.preflightReasons, ['the request headers x-api-key are not CORS-safelisted'])
})

t.test('a call to the page\'s own origin is recognised as same-origin', async (t) => {
  t.ok(planRequest(browserRequest({ origin: 'http://api.test' })).sameOrigin)
  t.notOk(planRequest(browserRequest({ origin: 'http://api.test:8080' })).sameOrigin)
})

t.test('the preflight carries Origin and the method, and Access-Control-Request-Headers only when there are unsafe headers', async (t) => {
  const withHeaders = browserRequest({ method: 'PUT', headers: [{ name: 'x-b', value: '1' }, { name: 'x-a', value: '2' }] })
  t.same(preflightRequestHeaders(withHeaders, planRequest(withHeaders)), {
    accept: '*/*',
    origin: page,
    'access-control-request-method': 'PUT',
    'access-control-request-headers': 'x-a,x-b'
  })
  const methodOnly = browserRequest({ method: 'DELETE' })
  t.same(preflightRequestHeaders(methodOnly, planRequest(methodOnly)), {
    accept: '*/*', origin: page, 'access-control-request-method': 'DELETE'
  })
})

t.test('the actual request carries the script\'s headers, Origin, and Accept */* unless the script set Accept', async (t) => {
  t.same(actualRequestHeaders(browserRequest({ headers: [{ name: 'x-api-key', value: 'k' }] })),
    { accept: '*/*', 'x-api-key': 'k', origin: page })
  t.same(actualRequestHeaders(browserRequest({ headers: [{ name: 'accept', value: 'application/json' }] })),
    { accept: 'application/json', origin: page })
})

t.test('a preflight with an ok status, this origin and the method listed passes and reports its cache time', async (t) => {
  const verdict = preflightVerdict(goodPreflight)
  t.ok(verdict.allowed)
  t.same(verdict.problems, [])
  t.same(verdict.warnings, [])
  t.equal(verdict.cacheSeconds, 600)
  t.same(verdict.notes, ['a browser may reuse this preflight for 600 s'])
})

t.test('a redirected preflight fails, naming where it pointed', async (t) => {
  const verdict = preflightVerdict({ ...goodPreflight, location: 'https://api.test/items/' }, {}, 301)
  t.same(codes(verdict), ['preflight-redirected'])
  t.match(verdict.problems[0]?.message, 'Location: https://api.test/items/')
  t.match(verdict.problems[0]?.fix, 'or the page must call the final URL directly')
  t.match(preflightVerdict(goodPreflight, {}, 307).problems[0]?.message, 'Location: absent')
})

t.test('a preflight answered with an error status fails, with a hint for authentication and missing routes', async (t) => {
  t.match(preflightVerdict(goodPreflight, {}, 401).problems[0]?.fix, 'authentication must let OPTIONS through')
  t.match(preflightVerdict(goodPreflight, {}, 403).problems[0]?.fix, 'authentication must let OPTIONS through')
  t.match(preflightVerdict(goodPreflight, {}, 404).problems[0]?.fix, 'no route answers OPTIONS here')
  t.match(preflightVerdict(goodPreflight, {}, 405).problems[0]?.fix, 'no route answers OPTIONS here')
  const serverError = preflightVerdict(goodPreflight, {}, 500)
  t.same(codes(serverError), ['preflight-not-ok'])
  t.match(serverError.problems[0]?.fix, /with a 2xx status \(204 is usual\) and the CORS headers$/)
  t.same(codes(preflightVerdict(goodPreflight, {}, 199)), ['preflight-not-ok'])
})

t.test('a response without Access-Control-Allow-Origin fails with the exact header to send', async (t) => {
  const verdict = actualVerdict({ 'content-type': 'text/plain' })
  t.notOk(verdict.allowed)
  t.same(codes(verdict), ['allow-origin-missing'])
  t.equal(verdict.problems[0]?.fix, `the server must answer with Access-Control-Allow-Origin: ${page}`)
  t.same(verdict.readableHeaders, [], 'a blocked response exposes nothing')
})

t.test('Access-Control-Allow-Origin * passes without credentials and fails with them', async (t) => {
  t.ok(actualVerdict({ 'access-control-allow-origin': '*' }).allowed)
  const verdict = actualVerdict({ 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true' }, { credentials: true })
  t.same(codes(verdict), ['allow-origin-wildcard-with-credentials'])
  t.match(verdict.problems[0]?.fix, `Access-Control-Allow-Origin: ${page} (this origin, not *) and Vary: Origin`)
})

t.test('an Access-Control-Allow-Origin for another origin fails, and near misses are explained', async (t) => {
  const other = actualVerdict({ 'access-control-allow-origin': 'https://other.example.com' })
  t.same(codes(other), ['allow-origin-mismatch'])
  t.equal(other.problems[0]?.message, `Access-Control-Allow-Origin is "https://other.example.com", not this page's origin ${page}`)
  t.match(actualVerdict({ 'access-control-allow-origin': 'https://App.Example.com' }).problems[0]?.message, 'differs only in letter case')
  t.match(actualVerdict({ 'access-control-allow-origin': `${page}/` }).problems[0]?.message, 'no path or trailing slash')
  const doubled = actualVerdict({ 'access-control-allow-origin': `${page}, ${page}` })
  t.same(codes(doubled), ['allow-origin-multiple'])
  t.match(doubled.problems[0]?.fix, 'sent once')
})

t.test('with credentials, Access-Control-Allow-Credentials must be exactly "true"', async (t) => {
  const withOrigin = { 'access-control-allow-origin': page, vary: 'Origin' }
  t.ok(actualVerdict({ ...withOrigin, 'access-control-allow-credentials': 'true' }, { credentials: true }).allowed)
  const missing = actualVerdict(withOrigin, { credentials: true })
  t.same(codes(missing), ['allow-credentials-missing'])
  t.match(missing.problems[0]?.message, 'Access-Control-Allow-Credentials is absent')
  const capitalised = actualVerdict({ ...withOrigin, 'access-control-allow-credentials': 'True' }, { credentials: true })
  t.match(capitalised.problems[0]?.message, 'Access-Control-Allow-Credentials is "True"')
  t.equal(capitalised.problems[0]?.fix, 'the server must answer with Access-Control-Allow-Credentials: true')
})

t.test('GET, HEAD and POST pass a preflight whatever Access-Control-Allow-Methods says', async (t) => {
  const headers = [{ name: 'x-api-key', value: 'k' }]
  const verdict = preflightVerdict({ 'access-control-allow-origin': '*', 'access-control-allow-headers': 'x-api-key' }, { method: 'POST', headers })
  t.ok(verdict.allowed)
})

t.test('a method missing from Access-Control-Allow-Methods fails with the list to send', async (t) => {
  const verdict = preflightVerdict({ ...goodPreflight, 'access-control-allow-methods': 'GET, POST' }, { method: 'DELETE' })
  t.same(codes(verdict), ['method-not-allowed'])
  t.equal(verdict.problems[0]?.message, 'the method DELETE is not in Access-Control-Allow-Methods ("GET, POST")')
  t.equal(verdict.problems[0]?.fix, 'the server must answer with Access-Control-Allow-Methods: GET, POST, DELETE')
  const absent = preflightVerdict({ 'access-control-allow-origin': page, vary: 'Origin' })
  t.match(absent.problems[0]?.message, 'Access-Control-Allow-Methods (absent)')
})

t.test('methods are compared byte for byte, so PATCH does not allow a lower-case patch', async (t) => {
  const verdict = preflightVerdict({ ...goodPreflight, 'access-control-allow-methods': 'GET, PATCH' }, { method: 'patch' })
  t.same(codes(verdict), ['method-not-allowed'])
  t.match(verdict.problems[0]?.message, 'it lists PATCH; methods are compared byte for byte and fetch() does not upper-case patch')
  t.match(verdict.problems[0]?.fix, 'Access-Control-Allow-Methods: GET, PATCH, patch')
})

t.test('Access-Control-Allow-Methods * allows any method without credentials but not with them', async (t) => {
  t.ok(preflightVerdict({ ...goodPreflight, 'access-control-allow-methods': '*' }, { method: 'DELETE' }).allowed)
  const verdict = preflightVerdict({ ...goodPreflight, 'access-control-allow-methods': '*', 'access-control-allow-credentials': 'true' },
    { method: 'DELETE', credentials: true })
  t.same(codes(verdict), ['method-wildcard-with-credentials'])
  t.equal(verdict.problems[0]?.fix, 'the server must answer with Access-Control-Allow-Methods: DELETE')
})

t.test('an Access-Control-Allow-Methods that does not parse fails the preflight', async (t) => {
  const verdict = preflightVerdict({ ...goodPreflight, 'access-control-allow-methods': 'GET PUT' })
  t.same(codes(verdict), ['allow-methods-invalid'])
  t.match(verdict.problems[0]?.message, '"GET PUT" is not a comma-separated list')
})

t.test('requested headers are matched against Access-Control-Allow-Headers case-insensitively', async (t) => {
  const headers = [{ name: 'x-api-key', value: 'k' }, { name: 'x-trace', value: '1' }]
  t.ok(preflightVerdict({ ...goodPreflight, 'access-control-allow-headers': 'X-Api-Key, X-TRACE' }, { headers }).allowed)
  const verdict = preflightVerdict({ ...goodPreflight, 'access-control-allow-headers': 'X-Api-Key' }, { headers })
  t.same(codes(verdict), ['header-not-allowed'])
  t.equal(verdict.problems[0]?.message, 'Access-Control-Allow-Headers ("X-Api-Key") does not list x-trace')
  t.equal(verdict.problems[0]?.fix, 'the server must answer with Access-Control-Allow-Headers: X-Api-Key, x-trace')
})

t.test('Access-Control-Allow-Headers * covers headers without credentials but not with them', async (t) => {
  const headers = [{ name: 'x-api-key', value: 'k' }]
  t.ok(preflightVerdict({ ...goodPreflight, 'access-control-allow-headers': '*' }, { headers }).allowed)
  const verdict = preflightVerdict({
    ...goodPreflight, 'access-control-allow-headers': '*', 'access-control-allow-credentials': 'true'
  }, { headers, credentials: true })
  t.same(codes(verdict), ['header-wildcard-with-credentials'])
  t.equal(verdict.problems[0]?.fix, 'the server must answer with Access-Control-Allow-Headers: x-api-key')
})

t.test('Access-Control-Allow-Headers * never covers Authorization, which must be listed by name', async (t) => {
  const headers = [{ name: 'authorization', value: 'Bearer t' }]
  const verdict = preflightVerdict({ ...goodPreflight, 'access-control-allow-headers': '*' }, { headers })
  t.same(codes(verdict), ['authorization-not-covered-by-wildcard'])
  t.equal(verdict.problems[0]?.fix, 'the server must list it by name: Access-Control-Allow-Headers: *, authorization')
  t.ok(preflightVerdict({ ...goodPreflight, 'access-control-allow-headers': '*, Authorization' }, { headers }).allowed)
})

t.test('an Access-Control-Allow-Headers that does not parse fails the preflight', async (t) => {
  const verdict = preflightVerdict({ ...goodPreflight, 'access-control-allow-headers': 'x-a x-b' }, { headers: [{ name: 'x-a', value: '1' }] })
  t.same(codes(verdict), ['allow-headers-invalid'])
  t.equal(verdict.problems[0]?.fix, 'the server must answer with Access-Control-Allow-Headers: x-a')
})

t.test('every problem of a failed preflight is reported, not only the first', async (t) => {
  const verdict = preflightVerdict({}, { headers: [{ name: 'x-a', value: '1' }] }, 404)
  t.same(codes(verdict), ['preflight-not-ok', 'allow-origin-missing', 'method-not-allowed', 'header-not-allowed'])
})

t.test('the preflight cache time follows Access-Control-Max-Age within Chromium\'s limits', async (t) => {
  const { 'access-control-max-age': _maxAge, ...noMaxAge } = goodPreflight
  const absent = preflightVerdict(noMaxAge)
  t.equal(absent.cacheSeconds, 5)
  t.match(absent.notes[0], 'Access-Control-Max-Age is absent, so Chromium repeats this preflight after 5 s')
  const invalid = preflightVerdict({ ...goodPreflight, 'access-control-max-age': 'ten' })
  t.equal(invalid.cacheSeconds, 5)
  t.match(invalid.notes[0], 'Access-Control-Max-Age is "ten"')
  const zero = preflightVerdict({ ...goodPreflight, 'access-control-max-age': '0' })
  t.equal(zero.cacheSeconds, 0)
  t.match(zero.notes[0], 'every call is preceded by a preflight')
  const day = preflightVerdict({ ...goodPreflight, 'access-control-max-age': '86400' })
  t.equal(day.cacheSeconds, 7200)
  t.match(day.notes[0], 'Chromium caches a preflight for at most 7200 s')
})

t.test('an Access-Control-Allow-Origin naming one origin without Vary: Origin draws a warning', async (t) => {
  const missing = actualVerdict({ 'access-control-allow-origin': page })
  t.ok(missing.allowed, 'the warning does not block the call')
  t.same(warningCodes(missing), ['vary-missing-origin'])
  t.match(missing.warnings[0]?.message, 'Vary (absent) does not list Origin')
  t.same(warningCodes(actualVerdict({ 'access-control-allow-origin': page, vary: 'Accept-Encoding' })), ['vary-missing-origin'])
  t.same(warningCodes(actualVerdict({ 'access-control-allow-origin': page, vary: 'Accept-Encoding, origin' })), [])
  t.same(warningCodes(actualVerdict({ 'access-control-allow-origin': page, vary: '*' })), [])
  t.same(warningCodes(actualVerdict({ 'access-control-allow-origin': '*' })), [], 'a wildcard does not depend on the origin')
  t.same(warningCodes(actualVerdict({})), [])
})

t.test('a script can read safelisted and exposed response headers, never Set-Cookie', async (t) => {
  const verdict = actualVerdict({
    'access-control-allow-origin': '*',
    'access-control-expose-headers': 'X-Total, set-cookie',
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'x-total': '3',
    'x-internal': 'secret',
    'set-cookie': 'id=1'
  })
  t.same(verdict.readableHeaders, ['cache-control', 'content-type', 'x-total'])
})

t.test('Access-Control-Expose-Headers * exposes everything without credentials and nothing extra with them', async (t) => {
  const headers = { 'access-control-allow-origin': page, vary: 'Origin', 'access-control-expose-headers': '*', 'x-total': '3', 'set-cookie': 'id=1' }
  t.same(actualVerdict(headers).readableHeaders,
    ['access-control-allow-origin', 'access-control-expose-headers', 'vary', 'x-total'])
  const withCredentials = actualVerdict({ ...headers, 'access-control-allow-credentials': 'true' }, { credentials: true })
  t.same(withCredentials.readableHeaders, [])
  t.same(warningCodes(withCredentials), ['expose-wildcard-with-credentials'])
})

t.test('an Access-Control-Expose-Headers that does not parse exposes nothing and draws a warning', async (t) => {
  const verdict = actualVerdict({ 'access-control-allow-origin': '*', 'access-control-expose-headers': 'x-a x-b', 'x-a': '1' })
  t.ok(verdict.allowed)
  t.same(verdict.readableHeaders, [])
  t.same(warningCodes(verdict), ['expose-headers-invalid'])
})

t.test('an actual response that redirects is checked but flagged, since the browser would follow it', async (t) => {
  const verdict = actualVerdict({ 'access-control-allow-origin': '*', location: 'https://api.test/v2/items' }, {}, 302)
  t.ok(verdict.allowed)
  t.same(warningCodes(verdict), ['actual-redirected'])
  t.match(verdict.warnings[0]?.message, 'Location: https://api.test/v2/items')
  t.match(actualVerdict({ 'access-control-allow-origin': '*' }, {}, 303).warnings[0]?.message, 'Location: absent')
})

t.test('an error status on the actual response is noted but does not decide the verdict', async (t) => {
  const verdict = actualVerdict({ 'access-control-allow-origin': '*' }, {}, 500)
  t.ok(verdict.allowed)
  t.same(verdict.notes, ['the server answered 500; CORS decides only whether the page may read it'])
  t.same(actualVerdict({ 'access-control-allow-origin': '*' }).notes, [])
})
