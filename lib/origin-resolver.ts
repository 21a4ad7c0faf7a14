import { LruMap } from 'toad-cache'
import { callUser } from './ask'
import { Deadlines } from './deadlines'
import type { OriginFunction } from './schema'

export interface ResolverLimits {
  /** Milliseconds before an unanswered call fails; 0 waits forever. */
  readonly timeout: number
  /** A bounded cache of answers by origin, or none. */
  readonly cache: { readonly max: number, readonly ttl: number } | undefined
}

/** Called once per lookup: with the function's answer (`ok`), or with why there is none. */
export type LookupDone = (ok: boolean, value: unknown) => void

/**
 * More distinct origins than this waiting on the function at once are refused without calling it,
 * so a hanging or slow resolver cannot make requests (and memory) pile up.
 */
export const MAX_PENDING_LOOKUPS = 1000

/**
 * Calls a user's origin function with limits: one call per origin at a time (concurrent requests
 * from one origin share it), a timeout, and an optional LRU cache of answers.
 */
export class OriginResolver {
  readonly #resolve: OriginFunction
  readonly #deadlines: Deadlines
  readonly #answers: LruMap<unknown> | undefined
  readonly #pending = new Map<string, LookupDone[]>()

  constructor (resolve: OriginFunction, limits: ResolverLimits) {
    this.#resolve = resolve
    this.#deadlines = new Deadlines(limits.timeout)
    this.#answers = limits.cache === undefined ? undefined : new LruMap(limits.cache.max, limits.cache.ttl)
  }

  /**
   * Looks `origin` up and calls `done` once: at once for a cached answer, otherwise when the
   * function answers, fails or runs out of time. Requests from one origin while its call runs wait
   * on that call. Callbacks rather than promises: this runs on every request.
   */
  lookup (origin: string, thisArg: unknown, done: LookupDone): void {
    const cached = this.#answers?.get(origin)
    if (cached !== undefined) return done(true, cached)
    const waiting = this.#pending.get(origin)
    if (waiting !== undefined) {
      waiting.push(done)
      return
    }
    if (this.#pending.size >= MAX_PENDING_LOOKUPS) {
      return done(false, new Error(`more than ${MAX_PENDING_LOOKUPS} origins are waiting on the origin function`))
    }
    const waiters = [done]
    this.#pending.set(origin, waiters)
    // The answer, the failure and the timeout each end the lookup; the first one wins.
    const settle = (ok: boolean, value: unknown): void => {
      this.#pending.delete(origin)
      if (ok && value !== undefined) this.#answers?.set(origin, value)
      for (const waiter of waiters) waiter(ok, value)
    }
    const wait = this.#deadlines.start(error => settle(false, error))
    callUser(this.#resolve, thisArg, origin,
      answer => { if (this.#deadlines.finish(wait)) settle(true, answer) },
      (error: unknown) => { if (this.#deadlines.finish(wait)) settle(false, error) })
  }

  /** How many answers are cached (for tests and monitoring). */
  get cachedAnswers (): number {
    return this.#answers?.size ?? 0
  }
}
