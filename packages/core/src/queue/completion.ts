import type { BaseBroker } from '../broker/base-broker.js'
import type { StatusEvent } from '../broker/events.js'
import { AbortedError, TaskNotFoundError, TimeoutError } from '../errors/classes.js'
import { COMPLETE_STATES, type TaskStatus } from '../task/states.js'

/** Options of every wait. */
export interface WaitOptions {
  /** Give up after this many ms with TimeoutError. @default no limit */
  timeout?: number
  /** Give up when this signal aborts, with AbortedError. */
  signal?: AbortSignal
}

/**
 * Back-up check of the stored status while waiting, ms. Events wake waiters within
 * milliseconds; this only covers a lost message (a broker connection that dropped).
 */
export const SAFETY_POLL_MS = 2000

/**
 * Resolves with the final status of task `id`, woken by its status events. Subscribes before
 * reading the status, so a completion between the two is never missed.
 */
export function waitForCompletion(broker: BaseBroker, id: number, options: WaitOptions = {}): Promise<TaskStatus> {
  return new Promise<TaskStatus>((resolve, reject) => {
    let settled = false
    let timer: NodeJS.Timeout | undefined
    let poll: NodeJS.Timeout | undefined
    const cleanup = () => {
      settled = true
      off()
      if (timer) clearTimeout(timer)
      if (poll) clearInterval(poll)
      options.signal?.removeEventListener('abort', onAbort)
    }
    const finish = (status: TaskStatus) => {
      if (settled) return
      cleanup()
      resolve(status)
    }
    const fail = (err: Error) => {
      if (settled) return
      cleanup()
      reject(err)
    }
    const onAbort = () => fail(new AbortedError(`waiting for task ${id} was aborted`))
    const check = () => {
      broker.fetchRecords([id], ['status']).then((records) => {
        const status = records.get(id)?.status
        if (status === undefined) fail(new TaskNotFoundError(`task ${id} does not exist`))
        else if (COMPLETE_STATES.has(status)) finish(status)
      }, fail)
    }
    const off = broker.on(`task_status.${id}`, (payload) => {
      const status = (payload as StatusEvent).status
      if (COMPLETE_STATES.has(status)) finish(status)
    })
    if (options.signal?.aborted) return onAbort()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    if (options.timeout !== undefined) {
      timer = setTimeout(() => fail(new TimeoutError(`task ${id} did not complete within ${options.timeout} ms`)), options.timeout)
    }
    poll = setInterval(check, SAFETY_POLL_MS)
    poll.unref()
    check()
  })
}
