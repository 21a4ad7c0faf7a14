// The demo (examples/demo): its two servers, its command line, and what its playground page
// shows in Chromium. The demo runs here on the plugin's TypeScript source, so no build is needed;
// only the command-line test runs the built demo, in a child process, and is skipped without dist/.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import fastifyCors from '@fastify/cors'
import fp from 'fastify-plugin'
import type { Locator, Page } from 'playwright-core'
import corsPlugin, { type CorsExplainInput, type CorsExplanation } from '../lib/index'
import { startDemo, type Demo, type DemoOptions } from '../examples/demo/server.js'
import { requireChromium, useBrowser } from './support/browser'
import { LIMITS, within } from './support/bounds'

const SERVER = join(__dirname, '..', 'examples', 'demo', 'server.js')
const BUILT = join(__dirname, '..', 'dist', 'index.cjs')
const ELSEWHERE = 'https://elsewhere.example'
/** The page gives up on a call after 8 s; this leaves room for it to show that. */
const CALL_LIMIT = 10_000

async function start (t: Test, options: DemoOptions = {}): Promise<Demo & { pageOrigin: string }> {
  const demo = await startDemo({ pagePort: 0, apiPort: 0, plugin: corsPlugin, ...options })
  t.teardown(() => demo.close())
  return { ...demo, pageOrigin: new URL(demo.pageUrl).origin }
}

function preflight (url: string, origin: string, method: string, headers?: string): Promise<Response> {
  const request: Record<string, string> = { origin, 'access-control-request-method': method }
  if (headers !== undefined) request['access-control-request-headers'] = headers
  return fetch(url, { method: 'OPTIONS', headers: request })
}

t.test('the demo serves the playground, which names the API, until it is closed', async (t) => {
  const demo = await startDemo({ pagePort: 0, apiPort: 0, plugin: corsPlugin })
  t.match(demo.pageUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  t.match(demo.apiUrl, /^http:\/\/localhost:\d+$/)
  const page = await fetch(demo.pageUrl)
  t.equal(page.status, 200)
  t.match(page.headers.get('content-type'), /^text\/html/)
  const html = await page.text()
  t.ok(html.includes(`"apiUrl":"${demo.apiUrl}"`), 'the page knows where the API is')
  t.notOk(html.includes('__DEMO_CONFIG__'))
  t.equal((await fetch(new URL('/elsewhere', demo.pageUrl))).status, 404)
  await demo.close()
  await t.rejects(fetch(demo.pageUrl))
  await t.rejects(fetch(demo.apiUrl + '/api/public'))
})

t.test('the API answers a preflight from the page origin, lets the PUT through and logs both', async (t) => {
  const lines: string[] = []
  const demo = await start(t, { log: (line) => lines.push(line) })
  const answer = await preflight(demo.apiUrl + '/api/orders/42', demo.pageOrigin, 'PUT', 'content-type,x-request-id')
  t.equal(answer.status, 204)
  t.equal(answer.headers.get('access-control-allow-origin'), demo.pageOrigin)
  t.equal(answer.headers.get('access-control-allow-credentials'), 'true')
  t.match(answer.headers.get('access-control-allow-methods'), /\bPUT\b/)
  t.match(answer.headers.get('access-control-allow-headers'), /x-request-id/)

  const put = await fetch(demo.apiUrl + '/api/orders/42', {
    method: 'PUT',
    headers: { origin: demo.pageOrigin, 'content-type': 'application/json', 'x-request-id': 'r-1' },
    body: '{"status":"shipped"}'
  })
  t.equal(put.headers.get('access-control-allow-origin'), demo.pageOrigin)
  t.same(await put.json(), { id: '42', status: 'shipped', requestId: 'r-1' })
  t.equal((await fetch(demo.apiUrl + '/api/public')).status, 200)
  await fetch(demo.apiUrl + '/__cors/explain?url=/api/public')

  t.same(lines, [
    `OPTIONS /api/orders/42 (preflight for PUT) from ${demo.pageOrigin} -> 204`,
    `PUT /api/orders/42 from ${demo.pageOrigin} -> 200`,
    'GET /api/public -> 200'
  ], 'one line per API request, the explain endpoint left out')
})

t.test('each API route applies its own policy to the page origin', async (t) => {
  const demo = await start(t)
  const api = (path: string) => demo.apiUrl + path
  const fromPage = (path: string, headers: Record<string, string> = {}) =>
    fetch(api(path), { headers: { origin: demo.pageOrigin, ...headers } })

  const publicGet = await fromPage('/api/public')
  t.equal(publicGet.headers.get('access-control-allow-origin'), demo.pageOrigin)
  t.equal(publicGet.headers.get('access-control-expose-headers'), 'x-total-count')
  t.equal(publicGet.headers.get('x-total-count'), '3')

  const admin = await preflight(api('/api/admin'), demo.pageOrigin, 'DELETE')
  t.equal(admin.headers.get('access-control-allow-origin'), null, 'config.cors false: no CORS headers')
  const deleted = await fetch(api('/api/admin'), { method: 'DELETE', headers: { origin: demo.pageOrigin } })
  t.equal(deleted.status, 200, 'a client that skips CORS (not a browser) still reaches the route')
  t.equal(deleted.headers.get('access-control-allow-origin'), null)
  t.same(await (await fetch(api('/api/orders/7'), { method: 'PUT' })).json(), { id: '7', status: 'updated', requestId: null })

  t.equal((await fromPage('/api/partners')).headers.get('access-control-allow-origin'), null)
  t.equal((await fetch(api('/api/partners'), { headers: { origin: 'https://partners.example.com' } }))
    .headers.get('access-control-allow-origin'), 'https://partners.example.com')
  t.equal((await fromPage('/api/reports')).headers.get('access-control-allow-origin'), null,
    'the https twin of the page origin does not admit the page')

  const unauthorized = await fromPage('/api/private')
  t.equal(unauthorized.status, 401)
  t.equal(unauthorized.headers.get('access-control-allow-origin'), demo.pageOrigin, 'the page can read the 401')
  t.equal((await fromPage('/api/private', { authorization: 'Bearer demo-token' })).status, 200)
  const privatePreflight = await preflight(api('/api/private'), demo.pageOrigin, 'GET', 'authorization')
  t.match(privatePreflight.headers.get('access-control-allow-headers'), /authorization/)

  const boom = await fromPage('/api/boom')
  t.equal(boom.status, 500)
  t.equal(boom.headers.get('access-control-allow-origin'), demo.pageOrigin, 'the page can read the 500')
})

t.test('the explain endpoint hands its query to app.cors.explain()', async (t) => {
  const seen: CorsExplainInput[] = []
  const canned: CorsExplanation = { verdict: 'allowed', reason: 'allowed', message: 'canned', preflight: null, response: { headers: {} } }
  const withExplain = fp(async (app) => {
    app.decorate('cors', {
      explain: async (input) => { seen.push(input); return canned },
      update: () => {}
    })
  }, { name: 'explain-stub' })
  const demo = await start(t, { plugin: withExplain })
  const query = new URLSearchParams({
    url: '/api/orders/42', method: 'PUT', origin: demo.pageOrigin, headers: ' x-request-id, content-type ,', credentials: '1'
  })
  t.same(await (await fetch(`${demo.apiUrl}/__cors/explain?${query}`)).json(), canned)
  await fetch(`${demo.apiUrl}/__cors/explain?url=/api/public`)
  t.same(seen, [
    { url: '/api/orders/42', method: 'PUT', origin: demo.pageOrigin, requestHeaders: ['x-request-id', 'content-type'], credentials: true },
    { url: '/api/public', method: 'GET', requestHeaders: [], credentials: false }
  ])
  t.equal((await fetch(`${demo.apiUrl}/__cors/explain`)).status, 400, 'url is required')
})

t.test('the explain endpoint is readable from any origin and says when explain() is unavailable', async (t) => {
  const demo = await start(t)
  const answer = await fetch(`${demo.apiUrl}/__cors/explain?url=/api/admin&method=DELETE&origin=${ELSEWHERE}`,
    { headers: { origin: ELSEWHERE } })
  t.equal(answer.headers.get('access-control-allow-origin'), '*')
  const body = await answer.json() as { unavailable?: boolean, verdict?: string }
  t.ok(body.unavailable === true || typeof body.verdict === 'string', 'an explanation or the admission there is none')

  const without = await start(t, { plugin: fp(async () => {}, { name: 'no-explain' }) })
  t.same(await (await fetch(`${without.apiUrl}/__cors/explain?url=/api/public`)).json(), { unavailable: true })
})

t.test('startDemo rejects when the API port is taken', async (t) => {
  const blocker = createServer()
  await new Promise<void>((resolve) => blocker.listen(0, 'localhost', resolve))
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
  const { port } = blocker.address() as { port: number }
  await t.rejects(startDemo({ pagePort: 0, apiPort: port, plugin: corsPlugin }), { code: 'EADDRINUSE' })
})

interface Exit { code: number | null, stdout: string, stderr: string }

/** Runs the demo's command line; `until` decides when its output says it is ready. */
function runCli (env: Record<string, string>, until?: RegExp) {
  const child = spawn(process.execPath, [SERVER], { env: { PATH: process.env.PATH ?? '', ...env } })
  const out = { stdout: '', stderr: '' }
  child.stdout.on('data', (chunk) => { out.stdout += chunk })
  child.stderr.on('data', (chunk) => { out.stderr += chunk })
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code) => resolve({ code, ...out })))
  const ready = until === undefined
    ? Promise.resolve('')
    : new Promise<string>((resolve, reject) => {
      child.stdout.on('data', () => { if (until.test(out.stdout)) resolve(out.stdout) })
      exited.then(() => reject(new Error(`the demo exited before it was ready:\n${out.stdout}${out.stderr}`)))
    })
  return {
    child,
    ready: within(ready, LIMITS.launch, 'the demo to print its URLs'),
    exited: within(exited, LIMITS.settle, 'the demo to exit')
  }
}

t.test('the command line takes its ports from the environment, prints both URLs and stops on SIGTERM',
  { skip: existsSync(BUILT) ? false : 'dist/ not built: run npm run build' }, async (t) => {
    const cli = runCli({ DEMO_PAGE_PORT: '0', DEMO_API_PORT: '0' }, /API \(another origin\): +http:\S+/)
    t.teardown(() => { if (cli.child.exitCode === null) cli.child.kill('SIGKILL') })
    const printed = await cli.ready
    const pageUrl = /Open the playground: +(http:\S+)/.exec(printed)?.[1] ?? ''
    const apiUrl = /API \(another origin\): +(http:\S+)/.exec(printed)?.[1] ?? ''
    t.match(pageUrl, /^http:\/\/127\.0\.0\.1:[1-9]\d*\/$/, 'the actual page port, not 0')
    t.match(apiUrl, /^http:\/\/localhost:[1-9]\d*$/)
    t.equal((await fetch(pageUrl)).status, 200)
    t.equal((await fetch(apiUrl + '/api/public')).status, 200)

    cli.child.kill('SIGTERM')
    const exit = await cli.exited
    t.equal(exit.code, 0)
    t.match(exit.stdout, /GET \/api\/public -> 200/)
    t.match(exit.stdout, /Demo stopped\./)
    t.equal(exit.stderr, '')
  })

t.test('the command line refuses a port that is not a number', async (t) => {
  const exit = await runCli({ DEMO_PAGE_PORT: 'abc' }).exited
  t.equal(exit.code, 1)
  t.match(exit.stderr, /DEMO_PAGE_PORT must be a port number from 0 to 65535/)
})

// --- In Chromium: what a person sees on the playground ---

interface Explained { unavailable?: true, verdict?: string, reason?: string, message?: string, hint?: string }

t.test('in Chromium, the playground', async (t) => {
  if (!requireChromium(t)) return
  const browser = useBrowser(t)
  let demo: Demo & { pageOrigin: string }
  t.before(async () => { demo = await start(t) })

  async function openPlayground (tt: Test): Promise<{ page: Page, errors: string[] }> {
    const { page } = await browser.openPage(tt)
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(String(error)))
    await page.setViewportSize({ width: 1280, height: 900 })
    await page.goto(demo.pageUrl)
    return { page, errors }
  }

  /** Presses Send and waits for call number `seq` to be shown in full. */
  async function send (page: Page, seq: number): Promise<Locator> {
    await page.click('#send')
    const card = page.locator(`#calls > li[data-seq="${seq}"][data-state="done"]`)
    await card.waitFor({ timeout: CALL_LIMIT })
    return card
  }

  /** The plugin's own answer to what the page asks the explain endpoint. */
  async function explained (query: Record<string, string>): Promise<Explained> {
    const search = new URLSearchParams({ origin: demo.pageOrigin, credentials: '0', headers: '', ...query })
    return await (await fetch(`${demo.apiUrl}/__cors/explain?${search}`)).json() as Explained
  }

  async function checkExplanation (tt: Test, card: Locator, expected: Explained, reason: string) {
    if (expected.unavailable === true) {
      tt.match(await card.locator('.explain-unavailable').textContent(), /Unavailable: .*no cors\.explain\(\)/)
      return
    }
    tt.equal(await card.locator('.explain-message').textContent(), expected.message, "the plugin's sentence is shown")
    tt.equal(await card.locator('.explain-reason').textContent(), reason)
    if (expected.hint === undefined) tt.equal(await card.locator('.explain-hint').count(), 0, 'no hint')
    else tt.equal(await card.locator('.explain-hint').textContent(), `Hint: ${expected.hint}`, 'the hint is shown')
  }

  t.test('shows a public GET as allowed, with only the headers JavaScript can read', async (t) => {
    const { page, errors } = await openPlayground(t)
    t.equal(await page.locator('#page-origin').textContent(), demo.pageOrigin)
    t.equal(await page.inputValue('#path'), '/api/public', 'the first example is ready to send')
    const card = await send(page, 1)
    t.equal(await card.getAttribute('data-outcome'), 'allowed')
    t.equal(await card.locator('.verdict').textContent(), 'Allowed')
    t.equal(await card.locator('.received-status').textContent(), '200')
    const received = await card.locator('.received table').textContent() ?? ''
    t.match(received, /x-total-count\s*3/, 'the exposed header')
    t.notMatch(received, /x-served-by/, 'the header the policy does not expose')
    t.match(await card.locator('.preflight-needed').textContent(), /^Not needed/)
    await checkExplanation(t, card, await explained({ url: '/api/public' }), 'allowed')
    t.same(errors, [], 'no script errors on the page')
  })

  t.test('on @fastify/cors, which has no explain(), says so and works out the preflight on its own', async (t) => {
    const reference = await start(t, { plugin: fastifyCors })
    const { page } = await browser.openPage(t)
    await page.goto(reference.pageUrl)
    await page.getByRole('button', { name: 'Update an order' }).click()
    const card = await send(page, 1)
    t.equal(await card.locator('.verdict').textContent(), 'Allowed')
    await checkExplanation(t, card, { unavailable: true }, '')
    t.match(await card.locator('.preflight-needed').textContent(),
      /^Needed: PUT is not GET, HEAD or POST.*\(worked out by this page from the Fetch rules\)\.$/)
  })

  t.test('shows DELETE on the cors:false route and GET on the partners route as blocked, and why', async (t) => {
    const { page, errors } = await openPlayground(t)

    await page.selectOption('#route', { label: 'DELETE /api/admin' })
    t.equal(await page.inputValue('#method'), 'DELETE', 'picking the route picks its method')
    const admin = await send(page, 1)
    t.equal(await admin.getAttribute('data-outcome'), 'blocked')
    t.equal(await admin.locator('.verdict').textContent(), 'Blocked')
    t.match(await admin.locator('.browser-line').textContent(), /fetch\(\) rejected with TypeError: Failed to fetch/)
    t.match(await admin.locator('.preflight-needed').textContent(), /^Needed: DELETE is not GET, HEAD or POST/)
    t.equal(await admin.locator('.preflight-reason').count(), 1, 'the explanation describes the preflight')
    await checkExplanation(t, admin, await explained({ url: '/api/admin', method: 'DELETE' }), 'cors-disabled')

    await page.selectOption('#route', { label: 'GET /api/partners' })
    const partners = await send(page, 2)
    t.equal(await partners.locator('.verdict').textContent(), 'Blocked')
    t.match(await partners.locator('.received').textContent(), /Nothing but the error/)
    await checkExplanation(t, partners, await explained({ url: '/api/partners' }), 'origin-not-allowed')

    await page.getByRole('button', { name: 'Near-miss origin' }).click()
    const reports = await send(page, 3)
    t.equal(await reports.locator('.verdict').textContent(), 'Blocked')
    const nearMiss = await explained({ url: '/api/reports' })
    await checkExplanation(t, reports, nearMiss, 'origin-not-allowed')
    if (nearMiss.unavailable !== true) t.match(nearMiss.hint, /only in the scheme/, 'the typo is named')
    for (const card of [admin, partners, reports]) {
      t.notMatch(await card.textContent(), /null|undefined/, 'no missing value shows through')
    }

    // A preflighted call that passes, so the screenshot shows both outcomes.
    await page.getByRole('button', { name: 'Update an order' }).click()
    const order = await send(page, 4)
    t.equal(await order.locator('.verdict').textContent(), 'Allowed')
    t.match(await order.locator('.preflight-needed').textContent(),
      /^Needed: PUT is not GET, HEAD or POST; Content-Type application\/json is not one of the three form types; the header x-request-id is not CORS-safelisted/)
    t.match(await order.locator('pre.body').textContent(), /"requestId":"demo-42"/)

    const artifacts = join(__dirname, '..', 'test-artifacts')
    await mkdir(artifacts, { recursive: true })
    await page.screenshot({ path: join(artifacts, 'demo-playground.png'), fullPage: true, timeout: LIMITS.navigation })
    t.same(errors, [], 'no script errors on the page')
  })
})
