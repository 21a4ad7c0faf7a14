import type { FastifyReply } from 'fastify'

/**
 * Adds field names to the response's `Vary` without clobbering what the handler or another plugin
 * set: no duplicates (compared case-insensitively), and `*` stays `*`. Only the response's own
 * `Vary` is read; a request's `Vary` header never reaches this code.
 */
export function addToVary (reply: FastifyReply, fields: string): void {
  const current = reply.getHeader('vary')
  // The common case in onSend: the hook's own Vary is still there, untouched.
  if (current === fields) return
  if (current === undefined || current === '') {
    reply.header('vary', fields)
    return
  }
  const merged = mergeVary(Array.isArray(current) ? current.join(', ') : String(current), fields)
  if (merged !== current) reply.header('vary', merged)
}

// Handlers set a handful of distinct Vary values; remember the merges, within a fixed bound.
const MAX_CACHED_MERGES = 256
const mergeCache = new Map<string, string>()

export function mergeVary (current: string, fields: string): string {
  const key = current + '\n' + fields
  const cached = mergeCache.get(key)
  if (cached !== undefined) return cached
  const merged = computeMerge(current, fields)
  if (mergeCache.size >= MAX_CACHED_MERGES) mergeCache.clear()
  mergeCache.set(key, merged)
  return merged
}

function computeMerge (current: string, fields: string): string {
  const present = new Set(current.split(',').map(name => name.trim().toLowerCase()).filter(name => name !== ''))
  if (present.has('*')) return '*'
  const missing = fields.split(', ').filter(name => !present.has(name.toLowerCase()))
  if (present.size === 0) return fields
  return missing.length === 0 ? current : `${current}, ${missing.join(', ')}`
}
