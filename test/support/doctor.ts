import { type DoctorIO, main } from '../../lib/doctor/cli'

export interface Captured {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the doctor in-process with its output captured and a clock that stands still. */
export async function doctor (args: string[], overrides: Partial<DoctorIO> = {}): Promise<Captured> {
  const stdout: string[] = []
  const stderr: string[] = []
  const io: DoctorIO = {
    stdout: { write: (text: string) => stdout.push(text) },
    stderr: { write: (text: string) => stderr.push(text) },
    isTTY: false,
    now: () => 0,
    ...overrides
  }
  const code = await main(args, io)
  return { code, stdout: stdout.join(''), stderr: stderr.join('') }
}
