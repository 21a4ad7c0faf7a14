// Bounds for every wait in the browser suite: each wait fails with a message naming what it
// was waiting for, instead of hanging until tap's file timeout.

/** In milliseconds. */
export const LIMITS = {
  launch: 30_000,
  navigation: 5_000,
  fetch: 5_000,
  /** evaluate() has no timeout of its own: this bounds the round trip to the page. */
  evaluate: 7_000,
  settle: 5_000,
  console: 5_000,
  /**
   * A whole browser file, replacing tap's 30 s default: a file takes 4–8 s alone, but about
   * 25 s when all files share the 2 cores with Chromium's processes.
   */
  file: 120_000
}

/** Rejects with a message naming `what` unless `promise` settles within `ms`. */
export async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
