import { domainToASCII, domainToUnicode } from 'node:url'
import { isIntended, parseAllowed, portSuffix, sampleHost, type AllowedEntry, type ConcreteEntry } from './allowed'

/** A host no one can own (RFC 2606 reserves `.test`), standing for the attacker's site. */
export const ATTACKER_HOST = 'attacker.test'

export type OriginAttackCategory =
  | 'suffix' | 'prefix' | 'subdomain' | 'wildcard' | 'separator' | 'trailing-dot' | 'scheme' | 'port'
  | 'case' | 'idn' | 'ip' | 'userinfo' | 'path' | 'whitespace' | 'control' | 'non-ascii' | 'joined'
  | 'long' | 'combination' | 'generic' | 'other-route'

/** Why each kind of hostile origin exists: the matcher bug it catches. */
export const ORIGIN_ATTACK_CATEGORIES: Readonly<Record<OriginAttackCategory, string>> = Object.freeze({
  suffix: 'another site whose host ends like the allowed one (an endsWith check without the dot)',
  prefix: 'another site whose origin starts with the allowed one (a startsWith check, a regex without $)',
  subdomain: 'a subdomain of an origin allowed exactly (a subdomain takeover reads it)',
  wildcard: "what '*.' must not stand for: the domain itself, an empty label, a literal '*'",
  separator: 'a dot replaced by another character (an unescaped dot in a regex)',
  'trailing-dot': 'the fully-qualified form of the host, which browsers never send',
  scheme: 'the same host under another scheme (a match that ignores the scheme)',
  port: 'the same host on another port, an explicit default port, or a malformed port',
  case: 'upper case, which browsers never send (a case-insensitive match)',
  idn: 'a look-alike host in Unicode and punycode, or the Unicode form of a punycode host',
  ip: 'other spellings of the same address, or a loopback address',
  userinfo: 'user name or password around the host (a match on URL parts)',
  path: 'a path, query or fragment, or the allowed host hidden in one (an includes check)',
  whitespace: 'spaces around the origin (a match after trimming)',
  control: 'control characters and line breaks (header injection, a match after stripping)',
  'non-ascii': 'non-ASCII characters that Unicode normalization may drop or fold',
  joined: 'two Origin lines that Node joined with ", " (a match on the first or any item)',
  long: 'origins far longer than any browser sends (unbounded or super-linear matching)',
  combination: 'pieces of two allowed entries put together (matching scheme, host and port separately)',
  generic: "values no allowed page sends: 'null', empty, '*', another site",
  'other-route': 'an origin the app allows elsewhere, but not on this route'
})

export interface OriginAttack {
  readonly kind: 'origin'
  readonly category: OriginAttackCategory
  /** The value sent as the `Origin` header. */
  readonly origin: string
  /** The allowed entry this origin imitates, if any. */
  readonly imitates: string | undefined
}

/**
 * Hostile variants of every allowed origin and pattern, minus anything the list itself allows.
 * Deterministic: the same list always gives the same cases, in the same order.
 */
export function attackOrigins (allowed: readonly string[]): OriginAttack[] {
  const entries = parseAllowed(allowed)
  const attacks = new Map<string, OriginAttack>()
  const emit = (category: OriginAttackCategory, imitates: string | undefined) => (origin: string): void => {
    if (!attacks.has(origin) && !isIntended(origin, entries)) attacks.set(origin, { kind: 'origin', category, origin, imitates })
  }
  for (const entry of entries) if (entry.kind !== 'null') variantsOf(entry, emit)
  combinations(entries, emit)
  for (const origin of ['null', `https://${ATTACKER_HOST}`, `http://${ATTACKER_HOST}`, '', '*', 'file://', 'undefined']) {
    emit('generic', undefined)(origin)
  }
  return [...attacks.values()]
}

type Emitter = (category: OriginAttackCategory, imitates: string | undefined) => (origin: string) => void

function variantsOf (entry: ConcreteEntry, emitter: Emitter): void {
  const emit = (category: OriginAttackCategory, ...origins: string[]): void => origins.forEach(emitter(category, entry.text))
  const { scheme, host: domain } = entry
  const host = sampleHost(entry)
  const port = portSuffix(entry)
  const at = (someHost: string, somePort = port, someScheme = scheme): string => `${someScheme}://${someHost}${somePort}`
  const origin = at(host)
  const attacker = `${scheme}://${ATTACKER_HOST}`

  const registrable = domain.split('.').slice(-2).join('.')
  emit('suffix', at(`evil-${domain}`), at(`evil${domain}`), at(`evil-${registrable}`), at(`evil${registrable}`))
  emit('prefix', `${origin}.${ATTACKER_HOST}`, at(`${host}.${ATTACKER_HOST}`), at(`${host}-${ATTACKER_HOST}`), `${origin}${ATTACKER_HOST}`)
  if (entry.anySubdomain) emit('wildcard', at(domain), at(`.${domain}`), at(`*.${domain}`), at(`a..${domain}`))
  else emit('subdomain', at(`evil.${domain}`), at(`a.b.${domain}`))
  for (let i = host.indexOf('.'); i !== -1; i = host.indexOf('.', i + 1)) {
    emit('separator', at(`${host.slice(0, i)}x${host.slice(i + 1)}`))
  }
  emit('trailing-dot', at(`${host}.`))
  for (const other of ['http', 'https', 'ws', 'wss', 'ftp']) if (other !== scheme) emit('scheme', at(host, port, other))
  emit('port', ...portVariants(entry, at(host, '')))
  emit('case', origin.toUpperCase(), at(host.toUpperCase()), at(host, port, scheme.toUpperCase()))
  emit('idn', ...idnVariants(host, domain).map(variant => at(variant)))
  emit('ip', ...ipVariants(domain).map(variant => at(variant)))
  emit('userinfo', `${origin}@${ATTACKER_HOST}`, at(`${ATTACKER_HOST}@${host}`), at(`user:pass@${host}`))
  emit('path', `${origin}/`, `${origin}/x`, `${origin}?x`, `${origin}#x`,
    `${attacker}/${host}`, `${attacker}?${host}`, `${attacker}#${host}`, `${attacker}\\${host}`, `${attacker}/${origin}`)
  emit('whitespace', ` ${origin}`, `${origin} `)
  emit('control', `${origin}\u0000`, `${origin}\r\nx-injected: 1`, `${origin}\t`, `${origin}\u007f`)
  emit('non-ascii', `${origin}\u00e9`, `${origin}\u00a0`, `${origin}\u2028`)
  emit('joined', `${origin}, ${attacker}`, `${attacker}, ${origin}`, `${origin},${attacker}`, `${origin}, ${origin}`)
  emit('long', `${origin}.${'a'.repeat(600)}.${ATTACKER_HOST}`, at(`${'a'.repeat(600)}.${host}`),
    `${origin}.${'a.'.repeat(40_000)}${ATTACKER_HOST}`)
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443', ws: '80', wss: '443' }

function portVariants (entry: ConcreteEntry, withoutPort: string): string[] {
  if (entry.port === '*') return [`${withoutPort}:`, `${withoutPort}:080`, `${withoutPort}:65536`, `${withoutPort}:0x50`, `${withoutPort}:-1`]
  if (entry.port === undefined) {
    const explicitDefault = DEFAULT_PORTS[entry.scheme]
    return [`${withoutPort}:8443`, `${withoutPort}:`, ...(explicitDefault === undefined ? [] : [`${withoutPort}:${explicitDefault}`])]
  }
  return [withoutPort, `${withoutPort}:${Number(entry.port) + 1}`, `${withoutPort}:${entry.port}0`, `${withoutPort}:0${entry.port}`]
}

// Latin letters and the Cyrillic letters that look the same.
const LOOK_ALIKES: Readonly<Record<string, string>> = { a: '\u0430', c: '\u0441', e: '\u0435', o: '\u043e', p: '\u0440' }

function idnVariants (host: string, domain: string): string[] {
  const variants = [host.replace(/\./g, '\uff0e'), host.replace(/\./g, '\u3002')]
  // Put the look-alike in the domain the entry names, not in a label a wildcard stands for.
  const offset = host.length - domain.length
  const index = domain.search(/[aceop]/)
  if (index !== -1) {
    const at = offset + index
    const lookAlike = `${host.slice(0, at)}${LOOK_ALIKES[host.charAt(at)] as string}${host.slice(at + 1)}`
    variants.push(lookAlike, domainToASCII(lookAlike))
  }
  if (host.includes('xn--')) variants.push(domainToUnicode(host))
  return variants.filter(variant => variant !== '' && variant !== host)
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

function ipVariants (host: string): string[] {
  const loopback = ['127.0.0.1', '[::1]', 'localhost']
  const parts = IPV4.exec(host)?.slice(1).map(Number)
  if (parts === undefined) return loopback.includes(host) ? loopback : []
  const [a = 0, b = 0, c = 0, d = 0] = parts
  const value = ((a * 256 + b) * 256 + c) * 256 + d
  return [
    String(value),
    `0x${value.toString(16)}`,
    parts.map(part => `0${part.toString(8)}`).join('.'),
    `${a}.${b * 65536 + c * 256 + d}`,
    `[::ffff:${host}]`,
    ...loopback
  ]
}

/** Pieces of two exact entries: `foo.com` + `bar.com` must not allow `barfoo.com`, nor mix schemes and ports. */
function combinations (entries: readonly AllowedEntry[], emitter: Emitter): void {
  const exact = entries.filter((entry): entry is ConcreteEntry => entry.kind === 'origin').slice(0, 8)
  for (const a of exact) {
    for (const b of exact) {
      if (a === b) continue
      const emit = emitter('combination', `${a.text} + ${b.text}`)
      emit(`${a.scheme}://${b.host.split('.')[0] as string}${a.host}${portSuffix(a)}`)
      emit(`${a.scheme}://${a.host}.${b.host}${portSuffix(b)}`)
      emit(`${a.scheme}://${b.host}${portSuffix(a)}`)
      emit(`${a.scheme}://${a.host}${portSuffix(b)}`)
    }
  }
}
