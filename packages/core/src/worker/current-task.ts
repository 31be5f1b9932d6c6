import { encode } from '../codec/codec.js'
import type { BaseBroker } from '../broker/base-broker.js'
import { AqueError } from '../errors/aque-error.js'
import { Queue } from '../queue/queue.js'
import type { TaskRecord } from '../task/record.js'
import { currentContext } from './task-context.js'

/** The running task, as its own code sees it. */
export interface CurrentTask {
  readonly id: number
  /** The stored task (codec fields as text). */
  readonly prototype: TaskRecord
  readonly broker: BaseBroker
  /** Aborted when the task is killed or the worker lost its lease. */
  readonly signal: AbortSignal
  /** Reports how far the task got; stored on the task and published. */
  progress(done: number, total?: number | null, message?: string | null): Promise<void>
  /** Appends a structured record to the task's `log` stream. */
  log(...values: unknown[]): void
  /** Submits child tasks (parent set, fields inherited): the methods of Queue. */
  readonly queue: Queue
  submit: Queue['submit']
  /**
   * Lets the worker suspend this task for more urgent work; resolves when it may go on. At once
   * unless a worker with `preempt` wants this task's CPUs or memory for a task of higher
   * priority: then the task is `suspended` until the worker resumes it. Rejects with
   * TaskKilledError if the task is killed while it waits.
   */
  yield(): Promise<void>
}

/** The task whose code is running now. Throws outside a task. */
export function currentTask(): CurrentTask {
  const ctx = currentContext()
  if (!ctx) throw new AqueError('currentTask() was called outside a running task')
  let queue: Queue | null = null
  const getQueue = () => {
    queue ??= new Queue({ broker: ctx.broker })
    return queue
  }
  return {
    id: ctx.record.id,
    prototype: ctx.record,
    get broker() {
      return ctx.broker
    },
    signal: ctx.signal,
    get queue() {
      return getQueue()
    },
    submit: ((...args: Parameters<Queue['submit']>) => getQueue().submit(...args)) as Queue['submit'],
    progress(done, total = null, message = null) {
      return ctx.progress(done, total ?? null, message ?? null)
    },
    log(...values) {
      ctx.write('log', `${encode({ time: Date.now(), values })}\n`)
    },
    async yield() {
      // A preempting worker may suspend the task here; otherwise there is nothing to yield to.
      if (ctx.yield) await ctx.yield()
      else await new Promise<void>((resolve) => setImmediate(resolve))
    },
  }
}
