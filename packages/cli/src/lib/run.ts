import { type Broker, Future, Worker, asCompleted } from '@aque/core'
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

/** Waits for every task; reports progress when asked. Returns the final status of each. */
export async function waitAll(broker: Broker, ids: number[], options: { progress: boolean; label?: string }): Promise<Map<number, string>> {
  const statuses = new Map<number, string>()
  const futures = ids.map((id) => new Future(id, broker))
  const reporter = options.progress ? new ProgressReporter(ids.length, process.stderr, options.label) : null
  try {
    for await (const f of asCompleted(futures)) {
      const status = await f.wait()
      statuses.set(f.id, status)
      reporter?.complete(f.id, status)
    }
  } finally {
    reporter?.end()
  }
  return statuses
}
