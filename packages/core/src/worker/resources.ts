import { availableParallelism, totalmem } from 'node:os'
import type { TaskRecord } from '../task/record.js'

/** What a worker can give its tasks at once. */
export interface Capacity {
  cpus: number
  memory: number
}

export function detectCapacity(): Capacity {
  return { cpus: availableParallelism(), memory: totalmem() }
}

/**
 * CPUs a task reserves on a worker of `capacity`: its `cpus`, or 1/n of the worker's for
 * `-n`. Without `cpus`, a shell task reserves one CPU (a process keeps one busy) and a function
 * task none (it shares the worker's event loop; `concurrency` bounds those).
 */
export function cpusNeeded(task: Pick<TaskRecord, 'cpus' | 'pattern'>, capacity: Capacity): number {
  const cpus = task.cpus
  if (cpus === null) return task.pattern === 'shell' ? Math.min(1, capacity.cpus) : 0
  return cpus < 0 ? capacity.cpus / -cpus : cpus
}

export function memoryNeeded(task: Pick<TaskRecord, 'memory'>): number {
  return task.memory ?? 0
}
