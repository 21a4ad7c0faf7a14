import t, { type Test } from 'tap'
import { Deadlines, holdWhileWaiting } from '../lib/deadlines'

interface FakeTimer { readonly delay: number, readonly fire: () => void, refed: boolean, cleared: boolean }

/** Replaces setTimeout for one test, and gives a clock to hand to Deadlines, so expiry is driven by hand. */
function fakeClock (t: Test): { timers: FakeTimer[], now: () => number, advance: (ms: number) => void, fireDue: () => void } {
  const realSetTimeout = globalThis.setTimeout
  let now = 1000
  const timers: FakeTimer[] = []
  globalThis.setTimeout = ((fire: () => void, delay: number) => {
    const timer: FakeTimer & { at: number } = { delay, fire, refed: true, cleared: false, at: now + delay }
    timers.push(timer)
    return { ref () { timer.refed = true; return this }, unref () { timer.refed = false; return this } }
  }) as unknown as typeof setTimeout
  t.teardown(() => {
    globalThis.setTimeout = realSetTimeout
  })
  return {
    timers,
    now: () => now,
    advance: (ms) => { now += ms },
    // Fires, once, every timer whose time has come, as the event loop would.
    fireDue: () => {
      for (const timer of [...timers] as Array<FakeTimer & { at: number }>) {
        if (!timer.cleared && timer.at <= now) {
          timer.cleared = true
          timer.fire()
        }
      }
    }
  }
}

const settle = async (): Promise<void> => await new Promise(resolve => setImmediate(resolve))

t.test('answers and errors pass through before the deadline', async (t) => {
  const deadlines = new Deadlines(1000)
  t.equal(await deadlines.bound(Promise.resolve('x')), 'x')
  await t.rejects(deadlines.bound(Promise.reject(new Error('no'))), /no/)
  t.equal(deadlines.waiting, 0)
})

t.test('a timeout of 0 waits forever: the promise is handed back as it is', async (t) => {
  const promise = new Promise(() => {})
  t.equal(new Deadlines(0).bound(promise), promise)
})

t.test('a wait that gets no answer fails once the timeout has passed, not before', async (t) => {
  const clock = fakeClock(t)
  const deadlines = new Deadlines(50, clock.now)
  let outcome: unknown = 'pending'
  deadlines.bound(new Promise(() => {})).catch((error: Error) => { outcome = error.message })
  clock.advance(49)
  clock.fireDue()
  await settle()
  t.equal(outcome, 'pending')
  clock.advance(1)
  clock.fireDue()
  await settle()
  t.equal(outcome, 'no answer within 50 ms')
  t.equal(deadlines.waiting, 0)
})

t.test('many waits share one timer, and each still gets its own full timeout', async (t) => {
  const clock = fakeClock(t)
  const deadlines = new Deadlines(100, clock.now)
  const failed: number[] = []
  for (let i = 0; i < 50; i++) deadlines.bound(new Promise(() => {})).catch(() => failed.push(i))
  t.equal(clock.timers.length, 1, 'fifty waits begun together arm one timer')
  clock.advance(60)
  deadlines.bound(new Promise(() => {})).catch(() => failed.push(50))
  t.equal(clock.timers.length, 1, 'a later wait does not arm another while one is armed')
  clock.advance(40)
  clock.fireDue()
  await settle()
  t.equal(failed.length, 50, 'the first fifty expired at 100 ms')
  t.equal(clock.timers.length, 2, 'the timer re-armed for the wait still running')
  t.equal(clock.timers[1]?.delay, 60, 'for the rest of its timeout')
  clock.advance(60)
  clock.fireDue()
  await settle()
  t.same(failed.slice(50), [50])
  t.equal(deadlines.waiting, 0)
})

t.test('the timer never holds the process by itself, so an idle process can exit', async (t) => {
  const clock = fakeClock(t)
  const deadlines = new Deadlines(100, clock.now)
  let answer: (value: string) => void = () => {}
  const first = deadlines.bound(new Promise<string>(resolve => { answer = resolve }))
  const timer = clock.timers[0] as FakeTimer
  t.equal(timer.refed, false, 'armed unref\'d: a request on a socket keeps the process alive anyway')
  answer('ok')
  t.equal(await first, 'ok')
  deadlines.bound(new Promise(() => {})).catch(() => {})
  t.equal(clock.timers.length, 1, 'the armed timer is reused')
  t.equal(timer.refed, false)
})

t.test('before the process would exit, the timer holds it for what still waits, then lets go', async (t) => {
  const clock = fakeClock(t)
  const idle = new Deadlines(100, clock.now)
  const busy = new Deadlines(100, clock.now)
  const idleWait = idle.start(() => {})
  idle.finish(idleWait)
  let answer: (value: string) => void = () => {}
  const pending = busy.bound(new Promise<string>(resolve => { answer = resolve }))
  const [idleTimer, busyTimer] = clock.timers as [FakeTimer, FakeTimer]
  t.ok(process.listeners('beforeExit').includes(holdWhileWaiting), 'listens for the process running out of work')
  holdWhileWaiting()
  t.equal(idleTimer.refed, false, 'nothing waits there: the process may exit')
  t.equal(busyTimer.refed, true, 'a wait is left: held until it is answered or times out')
  answer('late but in time')
  t.equal(await pending, 'late but in time')
  t.equal(busyTimer.refed, false, 'let go once the last wait is answered')
})

t.test('a held timer that fires re-arms unref\'d for the waits still running', async (t) => {
  const clock = fakeClock(t)
  const deadlines = new Deadlines(100, clock.now)
  let failed = 0
  deadlines.start(() => failed++)
  clock.advance(50)
  deadlines.start(() => failed++)
  holdWhileWaiting()
  t.equal((clock.timers[0] as FakeTimer).refed, true)
  clock.advance(50)
  clock.fireDue()
  t.equal(failed, 1)
  t.equal((clock.timers[1] as FakeTimer).refed, false, 'the next hold decides again')
  holdWhileWaiting()
  t.equal((clock.timers[1] as FakeTimer).refed, true)
  clock.advance(50)
  clock.fireDue()
  t.equal(failed, 2)
  t.equal(deadlines.waiting, 0)
})
