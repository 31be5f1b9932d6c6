import type { NewTask, TaskField, TaskRecord } from '@aque/core'

/**
 * How each task field is stored in the task's hash. Every value is a string; a null field is
 * absent. Codec texts (`args`, `result`, `error`, …) are stored verbatim.
 */
type Kind = 'string' | 'number' | 'json'
const KINDS: Record<TaskField, Kind> = {
  func: 'string',
  pattern: 'string',
  args: 'string',
  kwargs: 'string',
  name: 'string',
  priority: 'number',
  duration: 'number',
  cpus: 'number',
  memory: 'number',
  host: 'string',
  platform: 'string',
  user: 'string',
  group: 'string',
  cwd: 'string',
  environ: 'json',
  interpreter: 'string',
  isolation: 'string',
  stdin: 'string',
  stdinPath: 'string',
  stdoutPath: 'string',
  stderrPath: 'string',
  ioPaths: 'json',
  retries: 'number',
  retryDelay: 'number',
  runAt: 'number',
  expects: 'json',
  parent: 'number',
  extra: 'string',
  id: 'number',
  status: 'string',
  dependencies: 'json',
  attempt: 'number',
  retryCount: 'number',
  result: 'string',
  error: 'string',
  failedDependency: 'number',
  createdAt: 'number',
  startedAt: 'number',
  finishedAt: 'number',
  worker: 'string',
  leaseUntil: 'number',
  progress: 'json',
  usage: 'json',
  reason: 'string',
}
export const FIELD_NAMES = Object.keys(KINDS) as TaskField[]

/** A field value as stored (null: the field is left out of the hash). */
export function storeValue(field: TaskField, value: unknown): string | null {
  if (value === null || value === undefined) return null
  return KINDS[field] === 'json' ? JSON.stringify(value) : String(value)
}

/**
 * A value read back. Text that does not parse is returned as it is, so that the record fails
 * validation in core for that task alone (a corrupted hash never throws here).
 */
function readValue(kind: Kind, text: string | undefined): unknown {
  if (text === undefined) return null
  if (kind === 'string') return text
  if (kind === 'number') {
    const n = Number(text)
    return text !== '' && Number.isFinite(n) ? n : text
  }
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** A record from the flat [field, value, …] reply of HGETALL (or the values of HMGET `fields`). */
export function recordFromPairs(pairs: string[]): Partial<TaskRecord> {
  const hash: Record<string, string> = {}
  for (let i = 0; i + 1 < pairs.length; i += 2) hash[pairs[i] as string] = pairs[i + 1] as string
  return recordFromHash(hash, null)
}

/**
 * A record from a hash sent as one JSON object of strings (claim-1). Text that is not such an
 * object gives a record of the id alone, which fails validation in core for that task alone.
 */
export function recordFromJson(text: string | null, id: number): Partial<TaskRecord> {
  let hash: unknown = null
  try {
    hash = text === null ? null : JSON.parse(text)
  } catch {
    // left null: reported on the task by core
  }
  if (hash === null || typeof hash !== 'object') return { id }
  return recordFromHash(hash as Record<string, string>, null)
}

export function recordFromHash(hash: Record<string, string | undefined>, fields: TaskField[] | null): Partial<TaskRecord> {
  const out: Record<string, unknown> = {}
  for (const f of fields ?? FIELD_NAMES) out[f] = readValue(KINDS[f], hash[f])
  return out as Partial<TaskRecord>
}

export function recordFromValues(values: (string | null)[], fields: TaskField[]): Partial<TaskRecord> {
  const out: Record<string, unknown> = {}
  fields.forEach((f, i) => {
    out[f] = readValue(KINDS[f], values[i] ?? undefined)
  })
  return out as Partial<TaskRecord>
}

/**
 * 16 hex digits whose string order is the numeric order of `x` (IEEE 754 bits with the sign
 * flipped, negative numbers inverted), reversed when `descending`. Exact for every double, so
 * a priority of 2^53 and a duration of 0.1 sort as they compare, unlike a float score.
 */
export function orderKey(x: number, descending: boolean): string {
  const buf = Buffer.alloc(8)
  buf.writeDoubleBE(x === 0 ? 0 : x)
  let hi = buf.readUInt32BE(0)
  let lo = buf.readUInt32BE(4)
  if (hi & 0x80000000) {
    hi = ~hi >>> 0
    lo = ~lo >>> 0
  } else {
    hi = (hi | 0x80000000) >>> 0
  }
  if (descending) {
    hi = ~hi >>> 0
    lo = ~lo >>> 0
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}

/**
 * The dispatch key of a task without its id: priority descending, then duration descending.
 * The scripts append the id as 16 decimal digits (ascending), and keep the ready set's scores
 * at 0 so that its lexicographic order is the dispatch order.
 */
export function dispatchKey(priority: number, duration: number): string {
  return orderKey(priority, true) + orderKey(duration, true)
}

/** The JSON object of stored fields of a new task, for submit-1. */
export function newTaskFields(task: NewTask): string {
  const out: Record<string, string> = {}
  for (const [field, value] of Object.entries(task.spec)) {
    const stored = storeValue(field as TaskField, value)
    if (stored !== null) out[field] = stored
  }
  out._k = dispatchKey(task.spec.priority, task.spec.duration)
  return JSON.stringify(out)
}

/** Dependencies for submit-1: existing ids as they are, batch indexes as -(index + 1). */
export function newTaskDependencies(task: NewTask): string {
  return JSON.stringify(task.dependencies.map((d) => ('id' in d ? d.id : -(d.index + 1))))
}
