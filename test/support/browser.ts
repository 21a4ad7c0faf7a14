// Real-browser harness for the CORS end-to-end tests.
//
// One headless Chromium per test file; every test gets its own browser context (empty cache,
// no cookies, no preflight cache) and its own API server on a fresh port (see servers.ts), so
// no state crosses tests. Every wait is bounded (see bounds.ts).
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type Frame, type Page } from 'playwright-core'
import type { Test } from 'tap'
import { LIMITS, within } from './bounds'
import { startPageOrigin, type PageOrigin } from './servers'

/** Where Debian's `chromium` package puts the browser; CHROMIUM_PATH overrides it. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * The flags this machine needs: without the background-networking ones Chromium keeps
 * reaching for Google's hosts, and this network refuses them.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

export const SKIP_NO_CHROMIUM = 'skipped: Chromium not installed (apt-get install chromium)'

/**
 * Decides whether a browser test file can run. Without Chromium a developer's run reports the
 * file as skipped in one line; CI (CI=true) must have it, so there the file fails instead.
 */
export function requireChromium (t: Test, executablePath = CHROMIUM_PATH, env = process.env): boolean {
  if (existsSync(executablePath)) return true
  if (env.CI === 'true') {
    t.fail(`Chromium not found at ${executablePath}: CI must install it (apt-get install -y chromium)`)
  } else {
    t.plan(0, SKIP_NO_CHROMIUM)
  }
  return false
}

export interface FetchOptions {
  method?: string
  headers?: Record<string, string>
  credentials?: 'omit' | 'same-origin' | 'include'
  body?: string
  /** Response headers to read with `headers.get` (lower-case names). */
  read?: string[]
}

/** What the page's JavaScript saw. */
export interface FetchResult {
  /** null when fetch() resolved; otherwise the rejection, e.g. 'TypeError: Failed to fetch'. */
  error: string | null
  status: number | null
  /** `headers.get(name)` for every name in `read`. */
  headers: Record<string, string | null>
  /** The names the page can enumerate (safelisted plus exposed). */
  headerNames: string[]
  body: string | null
}

interface InPageFetch { url: string, init: RequestInit, read: string[], timeoutMs: number }

// Runs inside the page (serialised by Playwright): keep it self-contained.
async function fetchInPage ({ url, init, read, timeoutMs }: InPageFetch): Promise<FetchResult> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
    const headers: Record<string, string | null> = {}
    for (const name of read) headers[name] = response.headers.get(name)
    const headerNames = [...response.headers.keys()]
    return { error: null, status: response.status, headers, headerNames, body: await response.text() }
  } catch (err) {
    return { error: String(err), status: null, headers: {}, headerNames: [], body: null }
  }
}

export interface ConsoleEntry { type: string, text: string }

export interface E2EPage {
  page: Page
  /** Everything the browser logged, CORS errors included. */
  console: ConsoleEntry[]
  /** fetch() from the page origin. */
  fetch: (url: string, options?: FetchOptions) => Promise<FetchResult>
  /** fetch() from a `<iframe sandbox="allow-scripts">`, whose opaque origin is sent as `null`. */
  fetchFromSandbox: (url: string, options?: FetchOptions) => Promise<FetchResult>
  /** Resolves with the first console entry matching `pattern`, waiting (bounded) for it. */
  waitForConsole: (pattern: RegExp) => Promise<ConsoleEntry>
}

export interface BrowserHarness {
  /** The page origin's `Origin` value; available once the file's `before` has run. */
  readonly pageOrigin: string
  /** A fresh browser context with the blank page loaded from the page origin. */
  openPage: (t: Test) => Promise<E2EPage>
}

/**
 * Launches the file's browser and page-origin server in `t.before` and closes them in
 * `t.teardown`. Call once per file, after `requireChromium(t)` said yes.
 */
export function useBrowser (t: Test): BrowserHarness {
  let browser: Browser | undefined
  let pageOrigin: PageOrigin | undefined

  t.setTimeout(LIMITS.file)
  t.before(async () => {
    pageOrigin = await startPageOrigin()
    // chromium.launch() starts from a new, empty temporary --user-data-dir of Playwright's own
    // and deletes it on close; per-test isolation comes from a new context per test.
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
      timeout: LIMITS.launch
    })
  })
  t.teardown(async () => {
    if (browser !== undefined) await within(browser.close(), LIMITS.launch, 'Chromium to close')
    await pageOrigin?.close()
  })

  return {
    get pageOrigin () {
      if (pageOrigin === undefined) throw new Error('the page origin is not started yet')
      return pageOrigin.origin
    },
    openPage: async (tt) => {
      if (browser === undefined || pageOrigin === undefined) throw new Error('the browser is not launched yet')
      const context = await within(browser.newContext(), LIMITS.navigation, 'a new browser context')
      context.setDefaultTimeout(LIMITS.navigation)
      context.setDefaultNavigationTimeout(LIMITS.navigation)
      const page = await within(context.newPage(), LIMITS.navigation, 'a new page')
      const entries: ConsoleEntry[] = []
      const waiters: Array<{ pattern: RegExp, resolve: (entry: ConsoleEntry) => void }> = []
      page.on('console', (message) => {
        const entry = { type: message.type(), text: message.text() }
        entries.push(entry)
        for (const waiter of waiters.filter((w) => w.pattern.test(entry.text))) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(entry)
        }
      })
      tt.teardown(async () => {
        if (!tt.passing()) await saveArtifacts(tt.name, page, entries)
        await within(context.close(), LIMITS.navigation, 'the browser context to close')
      })
      await page.goto(pageOrigin.origin + '/', { timeout: LIMITS.navigation })

      const run = (frame: Frame, url: string, options: FetchOptions = {}): Promise<FetchResult> => {
        const { read = [], ...init } = options
        return within(frame.evaluate(fetchInPage, { url, init, read, timeoutMs: LIMITS.fetch }),
          LIMITS.evaluate, `fetch ${options.method ?? 'GET'} ${url} in the page`)
      }

      return {
        page,
        console: entries,
        fetch: (url, options) => run(page.mainFrame(), url, options),
        fetchFromSandbox: async (url, options) => {
          await within(page.evaluate(() => new Promise<void>((resolve) => {
            const frame = document.createElement('iframe')
            frame.setAttribute('sandbox', 'allow-scripts')
            frame.srcdoc = '<!doctype html><p>sandboxed</p>'
            frame.addEventListener('load', () => resolve(), { once: true })
            document.body.append(frame)
          })), LIMITS.navigation, 'the sandboxed iframe to load')
          const frame = page.frames().find((f) => f !== page.mainFrame())
          if (frame === undefined) throw new Error('the sandboxed iframe has no frame')
          return run(frame, url, options)
        },
        waitForConsole: (pattern) => {
          const seen = entries.find((e) => pattern.test(e.text))
          if (seen !== undefined) return Promise.resolve(seen)
          return within(new Promise<ConsoleEntry>((resolve) => waiters.push({ pattern, resolve })),
            LIMITS.console, `a console message matching ${pattern}`)
        }
      }
    }
  }
}

/** On failure: a screenshot and the console under test-artifacts/ (gitignored). */
async function saveArtifacts (name: string, page: Page, entries: ConsoleEntry[]): Promise<void> {
  const dir = join(__dirname, '..', '..', 'test-artifacts')
  const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, `${slug}.console.json`), JSON.stringify(entries, null, 2))
  await within(page.screenshot({ path: join(dir, `${slug}.png`) }), LIMITS.navigation, 'a screenshot')
    .catch(() => {})
}
