import { z } from 'zod'
import type { Future } from '../queue/future.js'
import type { AnyFunction, TaskDefinition } from '../functions/registry.js'
import { expectationSchema } from './record.js'

/** A dependency: a nested prototype (submitted with it), a Future, or the id of an existing task. */
export type Dependency = TaskPrototype | Future<unknown> | number

/**
 * What users submit: a flat object. Every field is optional; unknown fields are kept in `extra`.
 * See the task fields table in the docs for each one's meaning.
 */
export interface TaskPrototype {
  /** The function: a `task()` definition, a function, a registered name or `"module#export"`. */
  func?: TaskDefinition | AnyFunction | string | null
  args?: unknown[]
  kwargs?: Record<string, unknown> | null
  /** @default "generic" (`null` is the group pattern, which runs nothing) */
  pattern?: string | null
  dependencies?: Dependency[]
  /** The task this one belongs to (a group): its `environ` is inherited at run time. @default the running task, inside one */
  parent?: number | Future<unknown> | null
  name?: string | null
  /** Larger runs first. @default 1000 */
  priority?: number
  /** CPUs reserved; `-n` means 1/n of the worker's CPUs. */
  cpus?: number | null
  /** Bytes reserved: a number or a size like "1GB". */
  memory?: number | string | null
  host?: string | null
  platform?: string | null
  user?: string | null
  group?: string | null
  cwd?: string | null
  environ?: Record<string, string> | null
  interpreter?: string | null
  isolation?: 'inline' | 'process' | null
  stdin?: string | Uint8Array | null
  stdinPath?: string | null
  stdoutPath?: string | null
  stderrPath?: string | null
  ioPaths?: string[] | null
  /** Relative expected duration, a scheduling hint. @default 0 */
  duration?: number | null
  /** Automatic re-runs on error. @default 0 */
  retries?: number
  /** Base of the exponential backoff between retries, ms. @default 1000 */
  retryDelay?: number
  /** Not before this time: a Date or ms since the epoch. */
  runAt?: Date | number | null
  expects?: { files?: string[] } | null
  [extra: string]: unknown
}

const optionalString = z.string().nullable().optional()

/** The known fields, validated. Unknown keys pass through to `extra`. */
export const prototypeSchema = z.looseObject({
  func: z
    .custom<unknown>(
      (v) => v === null || v === undefined || typeof v === 'function' || typeof v === 'string' || (typeof v === 'object' && (v as { kind?: unknown }).kind === 'aque.task'),
      'expected a task() definition, a function or a name',
    )
    .optional(),
  args: z.array(z.unknown()).optional(),
  kwargs: z.record(z.string(), z.unknown()).nullable().optional(),
  pattern: z.string().min(1).nullable().optional(),
  dependencies: z.array(z.unknown()).optional(),
  parent: z
    .custom<unknown>((v) => v === null || v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) || (typeof v === 'object' && typeof (v as { id?: unknown }).id === 'number'), 'expected a task id or a Future')
    .optional(),
  name: optionalString,
  priority: z.number().int().optional(),
  cpus: z.number().refine((n) => Number.isFinite(n) && n !== 0, 'expected a non-zero finite number').nullable().optional(),
  memory: z.union([z.number().min(0), z.string()]).nullable().optional(),
  host: optionalString,
  platform: optionalString,
  user: optionalString,
  group: optionalString,
  cwd: optionalString,
  environ: z.record(z.string(), z.string()).nullable().optional(),
  interpreter: optionalString,
  isolation: z.enum(['inline', 'process']).nullable().optional(),
  stdin: z.union([z.string(), z.instanceof(Uint8Array)]).nullable().optional(),
  stdinPath: optionalString,
  stdoutPath: optionalString,
  stderrPath: optionalString,
  ioPaths: z.array(z.string()).nullable().optional(),
  duration: z.number().min(0).nullable().optional(),
  retries: z.number().int().min(0).optional(),
  retryDelay: z.number().min(0).optional(),
  runAt: z.union([z.date(), z.number()]).nullable().optional(),
  expects: expectationSchema.nullable().optional(),
})

/** Fields of a prototype that are not stored in `extra`. */
export const PROTOTYPE_FIELDS: ReadonlySet<string> = new Set(Object.keys(prototypeSchema.shape))
