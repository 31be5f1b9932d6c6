import type { TaskRecord } from '../task/record.js'

/** Messages from a worker to a child process of its pool. */
export type ToChild = { type: 'run'; record: TaskRecord; brokerUrl: string }

/** Messages from a child process to its worker. */
export type FromChild =
  | { type: 'ready' }
  | { type: 'write'; stream: string; data: string }
  | { type: 'progress'; done: number; total: number | null; message: string | null }
  | { type: 'done'; ok: true; result: string }
  | { type: 'done'; ok: false; error: string }
