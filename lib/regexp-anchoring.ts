/**
 * Is a RegExp source anchored at both ends for every alternative? `^a|b$` is not: its first branch
 * has no end anchor and its second no start anchor, so `/^https:\/\/a\.com|b\.com$/` lets
 * `https://a.com.evil.net` in. Top-level alternatives must therefore be grouped: `^(?:a|b)$`.
 */
export function isAnchored (source: string): boolean {
  if (!source.startsWith('^') || !source.endsWith('$') || isEscaped(source, source.length - 1)) return false
  let depth = 0
  let inClass = false
  for (let i = 1; i < source.length - 1; i++) {
    const char = source[i]
    if (char === '\\') {
      i++
    } else if (inClass) {
      if (char === ']') inClass = false
    } else if (char === '[') {
      inClass = true
    } else if (char === '(') {
      depth++
    } else if (char === ')') {
      depth--
    } else if (char === '|' && depth === 0) {
      return false
    }
  }
  return true
}

function isEscaped (source: string, index: number): boolean {
  let backslashes = 0
  for (let i = index - 1; i >= 0 && source[i] === '\\'; i--) backslashes++
  return backslashes % 2 === 1
}
