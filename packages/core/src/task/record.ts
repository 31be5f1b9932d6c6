import { z } from 'zod'
import { TASK_STATUSES } from './states.js'

/** What a task is expected to produce; checked after it succeeds. */
export const expectationSchema = z.strictObject({
  /** Files that must exist and be non-empty. */
  files: z.array(z.string().min(1)).optional(),
})
export type Expectation = z.infer<typeof expectationSchema>

export const progressSchema = z.object({
  done: z.number(),
  total: z.number().nullable(),
  message: z.string().nullable(),
  /** ms since the epoch */
  time: z.number(),
})
export type Progress = z.infer<typeof progressSchema>

export const usageSchema = z.object({
  /** CPU seconds of the task's process tree */
  cpuSeconds: z.number(),
  /** peak resident set size in bytes */
  maxRss: z.number(),
})
export type Usage = z.infer<typeof usageSchema>

const nullableString = z.string().nullable()

/**
 * The normalised fields of a task, as Queue hands them to a broker and as a broker stores them.
 * Values that go through the codec (`args`, `kwargs`, `stdin`, `extra`) are codec text here.
 * Times are milliseconds since the epoch; sizes are bytes.
 */
export const taskSpecSchema = z.object({
  /** Function reference: a `task()` name, `"module#export"`, or `local:N` (memory broker only); null for groups and shell. */
  func: nullableString,
  /** Pattern name; `null` is the group pattern. */
  pattern: nullableString,
  args: z.string(),
  kwargs: nullableString,
  name: nullableString,
  priority: z.number().int(),
  /** Relative expected duration, a scheduling hint: longer runs first at equal priority. 0 when unknown. */
  duration: z.number(),
  cpus: z.number().nullable(),
  memory: z.number().nullable(),
  host: nullableString,
  platform: nullableString,
  user: nullableString,
  group: nullableString,
  cwd: nullableString,
  environ: z.record(z.string(), z.string()).nullable(),
  interpreter: nullableString,
  isolation: z.enum(['inline', 'process']).nullable(),
  stdin: nullableString,
  stdinPath: nullableString,
  stdoutPath: nullableString,
  stderrPath: nullableString,
  ioPaths: z.array(z.string()).nullable(),
  retries: z.number().int().min(0),
  /** Base delay of the exponential backoff between automatic retries, ms. */
  retryDelay: z.number().min(0),
  /** Not before this time, ms since the epoch. */
  runAt: z.number().nullable(),
  expects: expectationSchema.nullable(),
  parent: z.number().int().positive().nullable(),
  extra: nullableString,
})
export type TaskSpec = z.infer<typeof taskSpecSchema>

/**
 * A task as a broker stores it: the spec plus its life. `result` and `error` are codec text.
 * This is what a broker's private methods return; the public API decodes it into a `Task`.
 */
export const taskRecordSchema = taskSpecSchema.extend({
  id: z.number().int().positive(),
  status: z.enum(TASK_STATUSES),
  /** Ids of the tasks this one depends on, in the order given. */
  dependencies: z.array(z.number().int().positive()),
  /** How many times the task was claimed by a worker (fencing token of the current run). */
  attempt: z.number().int().min(0),
  /** Automatic retries used so far. */
  retryCount: z.number().int().min(0),
  result: nullableString,
  error: nullableString,
  /** When the task failed because a dependency failed: the id of that dependency. */
  failedDependency: z.number().int().positive().nullable(),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  /** Id of the worker running (or that last ran) the task. */
  worker: nullableString,
  /** End of the current lease, ms since the epoch. */
  leaseUntil: z.number().nullable(),
  progress: progressSchema.nullable(),
  usage: usageSchema.nullable(),
  /** Why a pending task is not running yet, when a worker could tell. */
  reason: nullableString,
})
export type TaskRecord = z.infer<typeof taskRecordSchema>
export type TaskField = keyof TaskRecord
export const TASK_FIELDS = Object.keys(taskRecordSchema.shape) as TaskField[]

/** The fields of a record that hold codec text, decoded in a `Task`. */
export const ENCODED_FIELDS = ['args', 'kwargs', 'stdin', 'extra', 'result', 'error'] as const

/** A task as the public API shows it: encoded fields decoded (an undecodable field holds a DecodeError). */
export type Task = Omit<TaskRecord, (typeof ENCODED_FIELDS)[number]> & {
  args: unknown[]
  kwargs: Record<string, unknown> | null
  stdin: string | Uint8Array | null
  extra: Record<string, unknown> | null
  result: unknown
  error: Error | null
}

/** One batch entry handed to a broker: the spec and its dependencies, existing (`id`) or earlier in the batch (`index`). */
export type DependencyRef = { id: number } | { index: number }
export interface NewTask {
  spec: TaskSpec
  dependencies: DependencyRef[]
}
