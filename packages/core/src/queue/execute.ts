import { getBroker } from '../broker/registry.js'
import type { TaskPrototype } from '../task/prototype.js'
import { Worker } from '../worker/worker.js'
import { Queue } from './queue.js'

/**
 * Runs a prototype (and its nested dependencies) to the end here and now, on a fresh memory
 * broker with a worker in this process, and returns its result (or throws its error).
 */
export async function execute<T = unknown>(prototype: TaskPrototype): Promise<T> {
  const broker = await getBroker(`memory:execute-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`)
  try {
    const queue = new Queue({ broker })
    const future = await queue.submitEx<T>(prototype)
    await new Worker(broker, { concurrency: 8 }).runToEnd()
    return await future.result()
  } finally {
    await broker.close()
  }
}
