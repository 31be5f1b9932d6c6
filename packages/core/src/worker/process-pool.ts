import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { CommandError } from '../errors/classes.js'
import type { TaskRecord } from '../task/record.js'
import type { FromChild, ToChild } from './child-protocol.js'

/** The compiled child program (tests that run the sources still fork the built one). */
const RUNNER = fileURLToPath(new URL('../../dist/worker/child-runner.js', import.meta.url))

/** What a run in a child reports back to the worker. */
export interface ChildHooks {
  write(stream: string, data: Uint8Array): void
  progress(done: number, total: number | null, message: string | null): Promise<void>
  /** The child's pid, which is also its process group: signals for the task go there. */
  setProcess(pid: number): void
}

interface Child {
  process: ChildProcess
  ready: Promise<void>
}

/**
 * Warm child Node processes for isolated function tasks, one task per child at a time, kept
 * per interpreter. A child that crashed or was killed is dropped; a new one takes its place on
 * the next run.
 */
export class ProcessPool {
  private readonly idle = new Map<string, Child[]>()
  private readonly all = new Set<ChildProcess>()
  private closed = false

  constructor(
    private readonly imports: string[],
    private readonly maxIdle = 4,
  ) {}

  private spawn(interpreter: string): Child {
    const child = fork(RUNNER, [JSON.stringify(this.imports)], {
      execPath: interpreter,
      // A clean Node: not the worker's flags (a test runner's loaders and conditions).
      execArgv: [],
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    })
    this.all.add(child)
    child.once('exit', () => this.all.delete(child))
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromChild) => {
        if (m.type !== 'ready') return
        child.off('message', onMessage)
        resolve()
      }
      child.on('message', onMessage)
      child.once('error', reject)
      child.once('exit', (code, signal) => reject(new CommandError(`the task process exited (${signal ?? code}) before it was ready`)))
    })
    ready.catch(() => {})
    return { process: child, ready }
  }

  private take(interpreter: string): Child {
    const list = this.idle.get(interpreter)
    while (list && list.length > 0) {
      const child = list.pop() as Child
      if (child.process.exitCode === null && child.process.signalCode === null && child.process.connected) return child
    }
    return this.spawn(interpreter)
  }

  private giveBack(interpreter: string, child: Child): void {
    const list = this.idle.get(interpreter) ?? []
    if (this.closed || list.length >= this.maxIdle || !child.process.connected) {
      child.process.kill()
      return
    }
    list.push(child)
    this.idle.set(interpreter, list)
  }

  /** Runs a function task in a child; resolves with the codec text of its result, or rejects with its error text. */
  async run(record: TaskRecord, brokerUrl: string, hooks: ChildHooks): Promise<{ ok: true; result: string } | { ok: false; error: string }> {
    const interpreter = record.interpreter ?? process.execPath
    const child = this.take(interpreter)
    await child.ready
    const proc = child.process
    if (proc.pid !== undefined) hooks.setProcess(proc.pid)
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromChild) => {
        if (m.type === 'write') hooks.write(m.stream, Buffer.from(m.data, 'base64'))
        else if (m.type === 'progress') void hooks.progress(m.done, m.total, m.message).catch(() => {})
        else if (m.type === 'done') {
          cleanup()
          this.giveBack(interpreter, child)
          resolve(m.ok ? { ok: true, result: m.result } : { ok: false, error: m.error })
        }
      }
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        cleanup()
        const err = new CommandError(signal ? `the task process was ended by ${signal}` : `the task process exited with code ${code}`)
        err.exitCode = code
        err.signal = signal
        reject(err)
      }
      const cleanup = () => {
        proc.off('message', onMessage)
        proc.off('exit', onExit)
      }
      proc.on('message', onMessage)
      proc.once('exit', onExit)
      const message: ToChild = { type: 'run', record, brokerUrl }
      proc.send(message)
    })
  }

  /** Ends every child. */
  close(): void {
    this.closed = true
    for (const child of this.all) child.kill()
    this.idle.clear()
  }
}
