export interface Wait {
  readonly expires: number
  readonly fail: (error: Error) => void
}

/**
 * Bounds promises by one fixed timeout with a single timer. A timer per call cost more than the
 * rest of an origin lookup; since every wait has the same duration, they expire in the order they
 * began, and the timer only ever needs to know the oldest one still waiting.
 */
export class Deadlines {
  readonly #timeout: number
  readonly #now: () => number
  /** In the order the waits began, which is also the order they expire. */
  readonly #waits = new Set<Wait>()
  #timer: NodeJS.Timeout | undefined

  /** `timeout` in milliseconds; 0 waits forever. `now` is a monotonic clock in milliseconds. */
  constructor (timeout: number, now: () => number = () => performance.now()) {
    this.#timeout = timeout
    this.#now = now
  }

  /** Settles like `promise`, or rejects once the timeout has passed without an answer. */
  bound<T> (promise: Promise<T>): Promise<T> {
    if (this.#timeout === 0) return promise
    return new Promise<T>((resolve, reject) => {
      const wait = this.start(reject)
      promise.then(
        value => { if (this.finish(wait)) resolve(value) },
        (error: unknown) => { if (this.finish(wait)) reject(error) }
      )
    })
  }

  /** Starts a wait: `fail` is called if `finish` is not called within the timeout. */
  start (fail: (error: Error) => void): Wait {
    // A timeout of 0 waits forever: such a wait is never tracked, so it never fails.
    if (this.#timeout === 0) return { expires: Infinity, fail }
    const wait: Wait = { expires: this.#now() + this.#timeout, fail }
    this.#waits.add(wait)
    this.#watch()
    return wait
  }

  /** Ends a wait; false when it had already failed for its timeout, and the answer is too late. */
  finish (wait: Wait): boolean {
    if (wait.expires === Infinity) return true
    if (!this.#waits.delete(wait)) return false
    // Left armed, the timer would keep a process with nothing left to wait for alive.
    if (this.#waits.size === 0) this.#timer?.unref()
    return true
  }

  /** How many calls are waiting (for tests). */
  get waiting (): number {
    return this.#waits.size
  }

  #watch (): void {
    // An armed timer is due no later than this new wait: it will re-arm for the rest.
    if (this.#timer === undefined) this.#arm(this.#timeout)
    else this.#timer.ref()
  }

  #arm (delay: number): void {
    this.#timer = setTimeout(() => this.#expire(), delay)
  }

  #expire (): void {
    this.#timer = undefined
    const now = this.#now()
    for (const wait of this.#waits) {
      if (wait.expires > now) {
        // Timers may fire a fraction of a millisecond early; never re-arm for less than 1 ms.
        this.#arm(Math.max(1, Math.ceil(wait.expires - now)))
        return
      }
      this.#waits.delete(wait)
      wait.fail(new Error(`no answer within ${this.#timeout} ms`))
    }
  }
}
