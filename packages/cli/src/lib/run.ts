import { type Broker, COMPLETE_STATES, type StatusEvent, type TaskStatus, Worker } from '@aque/core'
import { CliError } from './errors.js'
import { ProgressReporter } from './progress-bar.js'

/**
 * Runs the tasks of an in-process broker here, while the caller waits for them: the quick
 * start (`aque submit --wait` without a server). Resolves once the worker has stopped.
 */
export function runInProcess(broker: Broker): { stop(): Promise<void> } {
  const worker = new Worker(broker, { pollMs: 200 })
  const loop = worker.runForever()
  return {
    async stop() {
      await worker.stop()
      await loop
    },
  }
}

/** Whether tasks of this broker can only run in this process. */
export function isLocal(broker: Broker): boolean {
  return !broker.capabilities.shared
}

/** Back-up re-read of the statuses still awaited, in case an event was lost, ms. */
const SAFETY_POLL_MS = 2000

/**
 * Waits for every task; reports progress when asked. Returns the final status of each.
 * One listener on `task_status` and one batched read per poll serve all the tasks, so
 * waiting for 10,000 tasks costs what waiting for one does.
 */
export async function waitAll(
  broker: Broker,
  ids: number[],
  options: { progress: boolean; label?: string; onComplete?: (id: number, status: TaskStatus) => Promise<void> },
): Promise<Map<number, string>> {
  const statuses = new Map<number, string>()
  const waiting = new Set(ids)
  const reporter = options.progress ? new ProgressReporter(waiting.size, process.stderr, options.label) : null
  let wake: (() => void) | null = null
  let failure: unknown = null
  // Completions are handled one at a time, in the order they came.
  let handled: Promise<void> = Promise.resolve()
  const settle = (id: number, status: TaskStatus) => {
    if (!waiting.has(id) || !COMPLETE_STATES.has(status)) return
    waiting.delete(id)
    statuses.set(id, status)
    const onComplete = options.onComplete
    handled = handled.then(async () => {
      if (onComplete) {
        reporter?.clear()
        await onComplete(id, status)
      }
      reporter?.complete(id, status)
    })
    if (waiting.size === 0) wake?.()
  }
  const off = broker.on('task_status', (payload) => {
    const event = payload as StatusEvent
    for (const id of event.ids) settle(id, event.status)
  })
  const check = async () => {
    const remaining = [...waiting]
    for (let i = 0; i < remaining.length; i += 1000) {
      const records = await broker.fetchRecords(remaining.slice(i, i + 1000), ['status'])
      for (const id of remaining.slice(i, i + 1000)) {
        const status = records.get(id)?.status
        if (status === undefined) throw new CliError(`task ${id} no longer exists`)
        settle(id, status)
      }
    }
  }
  const poll = setInterval(() => {
    check().catch((err: unknown) => {
      failure = err
      wake?.()
    })
  }, SAFETY_POLL_MS)
  try {
    await broker.ready()
    await check()
    while (waiting.size > 0 && !failure) {
      await new Promise<void>((resolve) => {
        wake = resolve
      })
      wake = null
    }
    if (failure) throw failure
    await handled
  } finally {
    clearInterval(poll)
    off()
    reporter?.end()
  }
  return statuses
}
