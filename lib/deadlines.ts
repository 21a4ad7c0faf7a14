export interface Wait {
  readonly expires: number
  readonly fail: (error: Error) => void
}

/** Every Deadlines whose timer is armed: the ones `holdWhileWaiting` may have to keep alive. */
const armed = new Set<Deadlines>()
let listening = false

/**
 * The timers are unref'd, so that an idle process can exit. A request on a socket keeps the process
 * alive anyway, but one sent with `inject()` does not: when nothing else is left, this keeps the
 * process until the waits have their answer or their timeout. Toggling `ref()` per wait instead
 * cost two calls into Node's C++ timer code on every origin lookup.
 */
export function holdWhileWaiting (): void {
  for (const deadlines of armed) deadlines.holdIfWaiting()
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
  /** Whether the timer holds the process, which it does only when nothing else would. */
  #held = false

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
    if (this.#held && this.#waits.size === 0) {
      // Held by holdWhileWaiting: let go, or the timer would keep an idle process until it fires.
      this.#held = false
      const timer = this.#timer as NodeJS.Timeout
      timer.unref()
    }
    return true
  }

  /** How many calls are waiting (for tests). */
  get waiting (): number {
    return this.#waits.size
  }

  /** Called before the process would exit: keeps it until what still waits is answered. */
  holdIfWaiting (): void {
    const timer = this.#timer
    if (timer !== undefined && this.#waits.size > 0) {
      this.#held = true
      timer.ref()
    }
  }

  #watch (): void {
    // An armed timer is due no later than this new wait: it will re-arm for the rest.
    if (this.#timer === undefined) this.#arm(this.#timeout)
  }

  #arm (delay: number): void {
    this.#timer = setTimeout(() => this.#expire(), delay).unref()
    armed.add(this)
    if (!listening) {
      listening = true
      process.on('beforeExit', holdWhileWaiting)
    }
  }

  #expire (): void {
    this.#timer = undefined
    this.#held = false
    armed.delete(this)
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
