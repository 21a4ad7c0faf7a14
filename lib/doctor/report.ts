// Turns what the doctor saw into text for people or JSON for programs.
import type {
  ActualVerdict,
  BrowserRequest,
  Finding,
  PreflightVerdict,
  ProbeResponse,
  RequestPlan
} from './browser-check'
import type { ProbeFailure } from './http-probe'

export type StepName = 'preflight' | 'actual'

export interface SentRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
}

export type StepRecord =
  | { readonly name: 'preflight', readonly sent: SentRequest, readonly response: ProbeResponse, readonly verdict: PreflightVerdict }
  | { readonly name: 'actual', readonly sent: SentRequest, readonly response: ProbeResponse, readonly verdict: ActualVerdict }

export interface DoctorOutcome {
  readonly request: BrowserRequest
  readonly plan: RequestPlan
  /** The steps that got an answer, in order. */
  readonly steps: readonly StepRecord[]
  /** Set when a step got no answer at all. */
  readonly failure?: ProbeFailure & { readonly step: StepName }
}

export type Verdict = 'allowed' | 'blocked' | 'error'

const STEP_TITLE: Record<StepName, string> = { preflight: 'Preflight', actual: 'Actual request' }
const STEP_LABEL: Record<StepName, string> = { preflight: 'preflight', actual: 'actual request' }
const WAITING_FOR: Record<StepName, string> = { preflight: 'preflight response', actual: 'response' }
const COLUMN = 12

export function verdictOf (outcome: DoctorOutcome): Verdict {
  if (outcome.failure !== undefined) return 'error'
  return outcome.steps.every((step) => step.verdict.allowed) ? 'allowed' : 'blocked'
}

export function formatWaiting (step: StepName, url: URL, elapsedMs: number): string {
  return `waiting for ${WAITING_FOR[step]} from ${url.href} (${(elapsedMs / 1000).toFixed(1)} s)`
}

export function formatText (outcome: DoctorOutcome): string {
  const lines = [
    ...headline(outcome),
    '',
    ...requestSection(outcome),
    ...outcome.steps.flatMap((step) => ['', ...stepSection(step)]),
    ...notSentSection(outcome)
  ]
  return `${lines.join('\n')}\n`
}

export function formatJson (outcome: DoctorOutcome): string {
  const { request, plan, steps } = outcome
  const reasons = steps.flatMap((step) => step.verdict.problems.map((problem) => ({ step: step.name, ...problem })))
  const report = {
    verdict: verdictOf(outcome),
    request: {
      url: request.url.href,
      origin: request.origin,
      method: request.method,
      headers: Object.fromEntries(request.headers.map((header) => [header.name, header.value])),
      credentials: request.credentials,
      sameOrigin: plan.sameOrigin,
      preflightReasons: plan.preflightReasons
    },
    steps: steps.map((step) => ({ step: step.name, request: step.sent, response: step.response, ...step.verdict })),
    reasons,
    fixes: [...new Set(reasons.map((reason) => reason.fix))],
    warnings: steps.flatMap((step) => step.verdict.warnings.map((warning) => ({ step: step.name, ...warning }))),
    error: outcome.failure ?? null
  }
  return `${JSON.stringify(report, null, 2)}\n`
}

function headline (outcome: DoctorOutcome): string[] {
  const { request, plan, failure } = outcome
  if (failure !== undefined) {
    const what = failure.kind === 'timeout' ? 'timeout' : 'network failure'
    return [`ERROR: ${what} during the ${STEP_LABEL[failure.step]} to ${request.url.href}: ${failure.message}`,
      '  no verdict: no HTTP response came back, so there were no CORS headers to check']
  }
  if (plan.sameOrigin) {
    return [`ALLOWED: ${request.url.href} has the page's own origin ${request.origin}, and a browser applies CORS only across origins`]
  }
  const call = `${request.method} ${request.url.href}${request.credentials ? ' with credentials' : ''}`
  const failed = outcome.steps.find((step) => !step.verdict.allowed)
  if (failed === undefined) {
    return [`ALLOWED: a page on ${request.origin} can call ${call} and read the response`]
  }
  return [`BLOCKED: a page on ${request.origin} cannot call ${call}`,
    ...failed.verdict.problems.map((problem) => `  the ${STEP_LABEL[failed.name]} failed: ${problem.message}`)]
}

function requestSection ({ request, plan }: DoctorOutcome): string[] {
  const headers = request.headers.map((header) => `${displayName(header.name)}: ${header.value}`)
  const preflight = plan.preflightReasons.length > 0
    ? `needed, because ${plan.preflightReasons.join(', and ')}`
    : 'not needed (a simple request)'
  return [
    'Request as a browser would send it',
    ...labelled('call', [`${request.method} ${request.url.href}`]),
    ...labelled('origin', [request.origin]),
    ...labelled('credentials', [request.credentials ? "include (fetch(…, { credentials: 'include' }))" : 'not sent']),
    ...labelled('headers', headers.length > 0 ? headers : ['none set by the script']),
    ...labelled('preflight', [preflight])
  ]
}

function stepSection (step: StepRecord): string[] {
  const { sent, response, verdict } = step
  const received = Object.entries(response.headers)
    .filter(([name]) => name.startsWith('access-control-') || name === 'vary' || name === 'location')
    .map(([name, value]) => `${displayName(name)}: ${value}`)
  return [
    `${STEP_TITLE[step.name]}: ${sent.method} ${sent.url} -> ${response.status}, ${verdict.allowed ? 'passed' : 'FAILED'}`,
    ...labelled('sent', Object.entries(sent.headers).map(([name, value]) => `${displayName(name)}: ${value}`)),
    ...labelled('received', received.length > 0 ? received : ['no CORS headers']),
    ...verdict.problems.flatMap((problem) => findingLines('problem', problem)),
    ...verdict.warnings.flatMap((warning) => findingLines('warning', warning)),
    ...verdict.notes.flatMap((note) => labelled('note', [note])),
    ...(step.name === 'actual' && verdict.allowed ? labelled('readable', [readableLine(step.verdict)]) : [])
  ]
}

function notSentSection ({ steps }: DoctorOutcome): string[] {
  const last = steps.at(-1)
  if (last?.name !== 'preflight' || last.verdict.allowed) return []
  return ['', `${STEP_TITLE.actual}: not sent, because a browser stops after a failed preflight`]
}

function readableLine (verdict: ActualVerdict): string {
  const names = verdict.readableHeaders.length > 0 ? verdict.readableHeaders.join(', ') : 'none'
  return `${names} (the response headers a script can read)`
}

function findingLines (label: string, item: Finding): string[] {
  return [...labelled(label, [item.message]), ...labelled('fix', [item.fix])]
}

function labelled (label: string, values: readonly string[]): string[] {
  return values.map((value, index) => `  ${(index === 0 ? label : '').padEnd(COLUMN)}${value}`)
}

function displayName (name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_match, dash: string, letter: string) => `${dash}${letter.toUpperCase()}`)
}
