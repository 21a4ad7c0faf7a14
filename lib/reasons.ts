import type { Decision, ReasonCode } from './decision'

/** A sentence per reason, in words a person can act on. `detail` names the method, header or failure. */
const messages: Record<ReasonCode, (detail: string | undefined) => string> = {
  allowed: () => 'allowed: the origin, method and headers are all allowed by the policy',
  'no-origin': () => 'not a CORS request: it has no Origin header (same-origin, or not from a browser)',
  'origin-not-allowed': () => 'the origin is not in the allowed origins of this route',
  'invalid-origin': () => 'the Origin header is not a single serialized origin (too long, several values, or stray characters)',
  'cors-disabled': () => 'CORS is off for this route (cors: false or origin: false)',
  'origin-resolver-failed': (detail) => `the origin could not be checked: ${String(detail)}`,
  'wildcard-with-credentials': () => "the origin function answered '*' for a request with credentials, which browsers refuse",
  'invalid-delegated-options': (detail) => `the options for this request are unusable: ${String(detail)}`,
  'method-not-allowed': (detail) => `the method ${String(detail)} is not in the allowed methods of this route (compared case-sensitively)`,
  'header-not-allowed': (detail) => `the request header ${String(detail)} is not in the allowed headers of this route`,
  'credentials-not-allowed': () => 'the request is sent with credentials, but the policy does not allow credentials',
  'preflight-not-answered': () => 'the plugin does not answer preflights for this route (preflight: false), so the app\'s own OPTIONS route or a 404 answers it'
}

export function describe (decision: Pick<Decision, 'reason' | 'detail'>): string {
  return messages[decision.reason](decision.detail)
}

export interface NearMiss {
  /** The allowed origin the request's origin nearly is. */
  readonly allowed: string
  /** A sentence saying how the two differ. */
  readonly hint: string
}

/**
 * When a refused origin differs from an allowed one only in a way people often get wrong (scheme,
 * port, `www.`, letter case, a trailing slash), say which. Only exact origins are compared.
 */
export function findNearMiss (origin: string, allowed: readonly string[]): NearMiss | undefined {
  const request = splitOrigin(origin)
  if (request === undefined) return undefined
  for (const candidate of allowed) {
    const listed = splitOrigin(candidate)
    const difference = listed === undefined ? undefined : differenceBetween(request, listed, origin, candidate)
    if (difference !== undefined) return { allowed: candidate, hint: `${origin} differs from the allowed ${candidate} only in ${difference}` }
  }
  return undefined
}

interface OriginParts { scheme: string, host: string, port: string }

function splitOrigin (origin: string): OriginParts | undefined {
  const match = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/:]+|\[[^\]]+\])(?::(\d*))?\/?$/.exec(origin)
  if (match === null) return undefined
  return { scheme: match[1] as string, host: match[2] as string, port: match[3] ?? '' }
}

/** Called for a refused origin, which therefore differs from every allowed one. */
function differenceBetween (request: OriginParts, listed: OriginParts, origin: string, candidate: string): string | undefined {
  if (origin.toLowerCase() === candidate.toLowerCase()) return 'letter case'
  if (origin.replace(/\/$/, '') === candidate.replace(/\/$/, '')) return 'a trailing slash'
  const sameHost = request.host.toLowerCase() === listed.host.toLowerCase()
  if (sameHost && request.port === listed.port && request.scheme !== listed.scheme) return `the scheme (${request.scheme} instead of ${listed.scheme})`
  if (sameHost && request.scheme === listed.scheme) return `the port (${request.port || 'none'} instead of ${listed.port || 'none'})`
  const withoutWww = (host: string): string => host.toLowerCase().replace(/^www\./, '')
  if (request.scheme === listed.scheme && request.port === listed.port && withoutWww(request.host) === withoutWww(listed.host)) return 'the www. prefix'
  return undefined
}
