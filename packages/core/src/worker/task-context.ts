import { AsyncLocalStorage } from 'node:async_hooks'
import type { BaseBroker } from '../broker/base-broker.js'
import type { TaskRecord } from '../task/record.js'

/** What the worker keeps for a running task, visible to its code through `currentTask()`. */
export interface RunningTaskContext {
  record: TaskRecord
  broker: BaseBroker
  signal: AbortSignal
  write(stream: string, data: Uint8Array | string): void
  /** Stores and publishes progress (through the broker, or to the parent worker from a subprocess). */
  progress(done: number, total: number | null, message: string | null): Promise<void>
  /**
   * Where the task lets the worker suspend it (a preempting worker that wants its room);
   * absent: nothing to yield to (a task in a subprocess, or run by `execute`).
   */
  yield?(): Promise<void>
}

export const taskStorage = new AsyncLocalStorage<RunningTaskContext>()

export function currentContext(): RunningTaskContext | undefined {
  return taskStorage.getStore()
}
