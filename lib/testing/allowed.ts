/**
 * The origins a test suite says its app allows, parsed once. Deliberately independent of the
 * plugin's own origin matcher: an attack module that shared the code it checks would miss its bugs.
 */

export type AllowedEntry =
  | { readonly kind: 'null', readonly text: 'null' }
  | {
    readonly kind: 'origin' | 'pattern'
    readonly text: string
    readonly scheme: string
    /** The exact host, or for `*.` the domain after it. */
    readonly host: string
    /** `undefined` = no port, `'*'` = any port or none, otherwise the exact port. */
    readonly port: string | undefined
    readonly anySubdomain: boolean
  }

export type ConcreteEntry = Exclude<AllowedEntry, { kind: 'null' }>

// `scheme://[*.]host[:port|:*]`, lowercase, as browsers serialize origins (Fetch standard).
const ENTRY = /^([a-z][a-z0-9+.-]*):\/\/(\*\.)?(\[[0-9a-f:.]+\]|[a-z0-9_-]+(?:\.[a-z0-9_-]+)*)(?::(\*|[1-9][0-9]{0,4}))?$/
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443', ws: '80', wss: '443' }
const HOST_AND_PORT = /^(\[[0-9a-f:.]+\]|[^:[\]]*)(?::([0-9]*))?$/
const LABELS = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/

export function parseAllowed (allowed: readonly string[]): AllowedEntry[] {
  if (!Array.isArray(allowed)) throw new TypeError('allowed must be an array of origins and patterns')
  return allowed.map(parseEntry)
}

function parseEntry (text: unknown, index: number): AllowedEntry {
  const where = `allowed[${index}] = ${JSON.stringify(text)}`
  if (text === 'null') return { kind: 'null', text }
  if (text === '*') {
    throw new TypeError(`${where}: list the origins the app means to allow; for a public API also pass publicWildcard: true`)
  }
  const match = typeof text === 'string' ? ENTRY.exec(text) : null
  if (match === null || Number(match[4]) > 65535) {
    throw new TypeError(`${where} is not an origin as browsers send it ('https://app.example.com'), ` +
      "a pattern ('https://*.example.com', 'http://localhost:*') or 'null'")
  }
  const [, scheme = '', star, host = '', port] = match
  if (port !== undefined && port === DEFAULT_PORTS[scheme]) {
    throw new TypeError(`${where}: browsers never send the default port; write "${scheme}://${star ?? ''}${host}"`)
  }
  const anySubdomain = star !== undefined
  return { kind: anySubdomain || port === '*' ? 'pattern' : 'origin', text: text as string, scheme, host, port, anySubdomain }
}

/** An origin the entry allows, for probes that need an allowed origin. */
export function sampleOrigin (entry: AllowedEntry): string {
  if (entry.kind === 'null') return 'null'
  return `${entry.scheme}://${sampleHost(entry)}${portSuffix(entry)}`
}

export function sampleHost (entry: ConcreteEntry): string {
  return entry.anySubdomain ? `cors-probe.${entry.host}` : entry.host
}

/** `:port` for an exact port, '' for none or any. */
export function portSuffix (entry: ConcreteEntry): string {
  return entry.port === undefined || entry.port === '*' ? '' : `:${entry.port}`
}

/**
 * Does the suite mean to allow this origin? Exact entries match byte for byte; `*.domain` stands
 * for one label or more in front of the domain; `:*` for any port or none.
 */
export function isIntended (origin: string, entries: readonly AllowedEntry[]): boolean {
  return entries.some(entry => matches(entry, origin))
}

function matches (entry: AllowedEntry, origin: string): boolean {
  if (entry.kind !== 'pattern') return origin === entry.text
  const schemePrefix = `${entry.scheme}://`
  if (!origin.startsWith(schemePrefix)) return false
  const split = HOST_AND_PORT.exec(origin.slice(schemePrefix.length))
  if (split === null) return false
  const [, host = '', port] = split
  if (entry.port === '*' ? port !== undefined && !isPort(port) : port !== entry.port) return false
  if (!entry.anySubdomain) return host === entry.host
  const suffix = `.${entry.host}`
  return host.endsWith(suffix) && LABELS.test(host.slice(0, -suffix.length))
}

function isPort (text: string): boolean {
  return /^(?:0|[1-9][0-9]{0,4})$/.test(text) && Number(text) <= 65535
}
