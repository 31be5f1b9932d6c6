import type { BaseBroker } from '../broker/base-broker.js'
import type { OutputChunk } from '../broker/contract.js'
import type { ProgressEvent } from '../broker/events.js'
import type { TaskWithProblems } from '../broker/task-decoding.js'
import { decode } from '../codec/codec.js'
import { DecodeError, TaskNotFoundError } from '../errors/classes.js'
import { COMPLETE_STATES, type TaskStatus } from '../task/states.js'
import { type WaitOptions, waitForCompletion } from './completion.js'

/**
 * The handle of a submitted task, typed by its result. Every method reads the broker: a
 * Future is just an id and a broker, and `queue.future(id)` makes one in any process.
 */
export class Future<T = unknown> {
  constructor(
    readonly id: number,
    readonly broker: BaseBroker,
  ) {}

  /** The task's result; throws the task's error (as its class where known). */
  result(options: WaitOptions = {}): Promise<T> {
    // Chained, not async: a submit → await round trip is short, and every layer costs promises.
    // One step when the completion event carried the outcome (the usual case).
    return waitForCompletion(this.broker, this.id, options).then(({ status, outcome }) =>
      outcome === undefined ? this.readOutcome(status).then((read) => this.resultOf(read)) : this.resultOf(this.decodeOutcome(status, outcome)),
    )
  }

  private resultOf({ status, value }: { status: TaskStatus; value: unknown }): T {
    if (status === 'success') return value as T
    throw value ?? new DecodeError(`task ${this.id} ended in ${status} without an error`)
  }

  /** The task's error once it completes, or null if it succeeded. */
  async exception(options: WaitOptions = {}): Promise<Error | null> {
    const { status, value } = await this.outcome(options)
    return status === 'success' ? null : ((value as Error | null) ?? null)
  }

  /** Waits for completion and returns the final status, without throwing the task's error. */
  async wait(options: WaitOptions = {}): Promise<TaskStatus> {
    return (await waitForCompletion(this.broker, this.id, options)).status
  }

  /**
   * Waits, then decodes the outcome: from the completion event when the broker sent it, else
   * read back. A result that cannot be decoded is thrown as a DecodeError.
   */
  private outcome(options: WaitOptions): Promise<{ status: TaskStatus; value: unknown }> {
    return waitForCompletion(this.broker, this.id, options).then(({ status, outcome }) =>
      outcome === undefined ? this.readOutcome(status) : this.decodeOutcome(status, outcome),
    )
  }

  /** The outcome text of a complete task, read back, then decoded. */
  private async readOutcome(status: TaskStatus): Promise<{ status: TaskStatus; value: unknown }> {
    const record = (await this.broker.fetchRecords([this.id], [status === 'success' ? 'result' : 'error'])).get(this.id)
    if (!record) throw new TaskNotFoundError(`task ${this.id} does not exist`)
    return this.decodeOutcome(status, status === 'success' ? record.result : record.error)
  }

  private decodeOutcome(status: TaskStatus, text: unknown): { status: TaskStatus; value: unknown } {
    if (text === null || text === undefined) return { status, value: null }
    if (typeof text !== 'string') throw new DecodeError(`the ${status === 'success' ? 'result' : 'error'} of task ${this.id} is not codec text`)
    const value = decode(text) // throws DecodeError for what cannot be decoded
    return { status, value }
  }

  async status(): Promise<TaskStatus> {
    return (await this.read(['status'])).status as TaskStatus
  }

  async done(): Promise<boolean> {
    return COMPLETE_STATES.has(await this.status())
  }

  /** Kills the task (a pending one at once, a running one by signal). */
  cancel(signal = 'SIGTERM'): Promise<void> {
    return this.broker.kill([this.id], signal)
  }

  /** Calls `listener` on each progress report. Returns the unsubscribe function. */
  onProgress(listener: (progress: ProgressEvent) => void): () => void {
    return this.broker.on(`task_progress.${this.id}`, (payload) => listener(payload as ProgressEvent))
  }

  /** The stored task. */
  async task(): Promise<TaskWithProblems> {
    return this.read()
  }

  /** Futures of the tasks this one depends on. */
  async dependencies(): Promise<Future<unknown>[]> {
    const task = await this.read(['dependencies'])
    return (task.dependencies ?? []).map((id) => new Future(id, this.broker))
  }

  /**
   * The task's output chunks: what is stored, then live ones as they are written, until the
   * task completes.
   */
  async *output(): AsyncIterable<OutputChunk> {
    // Live events are only a wake-up call: chunks are read back from the store by seq, so none
    // is missed or repeated when events and reads interleave.
    let dirty = true
    let wake: (() => void) | null = null
    const off = this.broker.on(`task_output.${this.id}`, () => {
      dirty = true
      wake?.()
    })
    let finished = false
    let failure: unknown = null
    this.wait().then(
      () => {
        finished = true
        wake?.()
      },
      (err: unknown) => {
        failure = err
        finished = true
        wake?.()
      },
    )
    try {
      let seq = 0
      for (;;) {
        if (!dirty && !finished) {
          await new Promise<void>((resolve) => {
            wake = resolve
          })
          wake = null
        }
        if (failure) throw failure
        const last = finished
        dirty = false
        for (const chunk of await this.broker.getOutput([this.id], { since: seq })) {
          seq = chunk.seq + 1
          yield chunk
        }
        if (last) return
      }
    } finally {
      off()
    }
  }

  private async read(fields?: Parameters<BaseBroker['fetch']>[1]): Promise<TaskWithProblems> {
    const task = (await this.broker.fetch([this.id], fields)).get(this.id)
    if (!task) throw new TaskNotFoundError(`task ${this.id} does not exist`)
    return task
  }

  toJSON(): { id: number } {
    return { id: this.id }
  }
}
