// Sends one HTTP(S) request the way the doctor needs it: headers only, bounded by a deadline.
import http from 'node:http'
import https from 'node:https'
import type { HeaderMap, ProbeResponse } from './browser-check'

export interface ProbeRequest {
  readonly url: URL
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly timeoutMs: number
}

export interface ProbeFailure {
  readonly kind: 'timeout' | 'network'
  readonly message: string
}

export type ProbeOutcome =
  | { readonly ok: true, readonly response: ProbeResponse }
  | { readonly ok: false, readonly failure: ProbeFailure }

class ProbeTimeout extends Error {}

/** Resolves (never rejects) once the response headers arrive, the deadline passes, or the connection fails. */
export function sendProbe (request: ProbeRequest): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const transport = request.url.protocol === 'https:' ? https : http
    // No agent: no pooled socket may keep the process alive after the verdict.
    const outgoing = transport.request(request.url, { method: request.method, headers: request.headers, agent: false })
    // One deadline for DNS, connect, TLS and the wait for headers together: the doctor never hangs.
    const deadline = setTimeout(() => {
      outgoing.destroy(new ProbeTimeout(`no response within ${request.timeoutMs} ms`))
    }, request.timeoutMs)
    outgoing.on('response', (incoming) => {
      clearTimeout(deadline)
      resolve({ ok: true, response: { status: incoming.statusCode as number, headers: combineHeaders(incoming) } })
      // The verdict needs only the headers; a slow or endless body must not keep the doctor waiting.
      incoming.destroy()
    })
    outgoing.on('error', (error) => {
      clearTimeout(deadline)
      const kind = error instanceof ProbeTimeout ? 'timeout' : 'network'
      // OpenSSL messages span lines; one line reads better in a report.
      resolve({ ok: false, failure: { kind, message: error.message.replace(/\s+/g, ' ').trim() } })
    })
    outgoing.end()
  })
}

function combineHeaders (incoming: http.IncomingMessage): HeaderMap {
  // headersDistinct keeps every line (Node drops duplicates of some headers in `headers`); joining
  // them with ", " is the Fetch standard's "get", so a doubled Access-Control-Allow-Origin fails as in a browser.
  const distinct = incoming.headersDistinct as Record<string, string[]>
  return Object.fromEntries(Object.entries(distinct).map(([name, values]) => [name, values.join(', ')]))
}
