/**
 * Hostile `Access-Control-Request-Method` and `Access-Control-Request-Headers` values, sent with an
 * allowed origin: the server must answer each without an error, whatever it decides.
 */

export type PreflightAttackCategory = 'request-method' | 'request-headers'

export interface PreflightAttack {
  readonly kind: 'preflight'
  readonly category: PreflightAttackCategory
  /** What the value is, for messages. */
  readonly label: string
  /** `Access-Control-Request-Method` to send, or `undefined` for the route's method. */
  readonly requestMethod?: string
  /** `Access-Control-Request-Headers` to send, or `undefined` for the suite's `requestHeaders`. */
  readonly requestHeaders?: string
}

const methods: ReadonlyArray<[string, string]> = [
  ['lower-case put (fetch() upper-cases it; a server must not)', 'put'],
  ['lower-case patch (fetch() sends it as is)', 'patch'],
  ['lower-case delete', 'delete'],
  ['CONNECT (forbidden in browsers)', 'CONNECT'],
  ['TRACE (forbidden in browsers)', 'TRACE'],
  ['TRACK (forbidden in browsers)', 'TRACK'],
  ['a list of methods', 'GET, PUT'],
  ['a method with a leading space', ' PUT'],
  ['an empty method', ''],
  ['a 20 KB method', 'M'.repeat(20_000)],
  ['a non-ASCII method', 'G\u00e9T'],
  ['a line break', 'PUT\r\nx-injected: 1'],
  ['Object.prototype names', '__proto__'],
  ['Object.prototype names', 'constructor'],
  ['Object.prototype names', 'hasOwnProperty']
]

const headerLists: ReadonlyArray<[string, string]> = [
  ['64 KB of commas', ','.repeat(65_536)],
  ['64 KB of spaces', ' '.repeat(65_536)],
  ['64 KB of ", "', ', '.repeat(32_768)],
  ['64 KB of tabs and commas', '\t,'.repeat(32_768)],
  ['16 384 duplicate names', 'x-a,'.repeat(16_384)],
  ['5 000 duplicate content-type', 'content-type, '.repeat(5_000)],
  ['one 70 KB name', 'x'.repeat(70_000)],
  ['64 KB of spaces inside the list', `x-a${' '.repeat(65_536)},x-b`],
  ['empty items', 'x-a,,, ,x-b'],
  ['upper case', 'X-A, AUTHORIZATION'],
  ['a wildcard', '*'],
  ['a non-ASCII name', 'x-\u00e9'],
  ['a line break', 'x-a\r\nx-injected: 1'],
  ['Object.prototype names', '__proto__, constructor, hasownproperty'],
  ['separators that are not commas', 'x-a;x-b x-c'],
  ['quoted names', '"x-a", "x-b"']
]

export function attackPreflights (): PreflightAttack[] {
  return [
    ...methods.map(([label, requestMethod]): PreflightAttack => ({ kind: 'preflight', category: 'request-method', label, requestMethod })),
    ...headerLists.map(([label, requestHeaders]): PreflightAttack => ({ kind: 'preflight', category: 'request-headers', label, requestHeaders }))
  ]
}
