import type { NewTask, TaskField, TaskRecord } from '@aque/core'

/**
 * How each task field is stored. Every value is a string; a null field is absent. Codec texts
 * (`args`, `result`, `error`, …) are stored verbatim. The fields of the spec (what was submitted,
 * never changed afterwards) are kept together in the hash field `_j`, as one JSON object of
 * these strings: a submit stores one field for them and a claim reads one (the scripts never
 * look inside). The state fields, and the few spec fields the scripts read (SEPARATE), are
 * hash fields of their own; they win over `_j`.
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
  // JSON-quoted: a stored value never holds a raw NUL (claim-1 joins a hash's values with NULs).
  reason: 'json',
}
/** Fields that change after submit (or are set by the scripts): hash fields of their own. */
const STATE_FIELDS = new Set<string>(['id', 'status', 'dependencies', 'attempt', 'retryCount', 'result', 'error', 'failedDependency', 'createdAt', 'startedAt', 'finishedAt', 'worker', 'leaseUntil', 'progress', 'usage', 'reason'])
/** Spec fields stored in `_j` and also on their own, for the scripts: runAt (retry changes it), parent and user (search). */
const SEPARATE = ['runAt', 'parent', 'user'] as const
/** Whether reading `field` needs `_j`. */
export function inSpecBlob(field: TaskField): boolean {
  return !STATE_FIELDS.has(field) && !(SEPARATE as readonly string[]).includes(field)
}

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

/** The stored text of field `f`: its own hash field, else (a spec field) its value in `_j`. */
function textOf(hash: Record<string, string | undefined>, spec: Record<string, unknown> | null, f: TaskField): string | undefined {
  const own = hash[f]
  if (own !== undefined || STATE_FIELDS.has(f)) return own
  const v = spec?.[f]
  return typeof v === 'string' ? v : undefined
}

/**
 * A record from a task's hash (all of it, or the `fields` asked for and `_j`). A `_j` that
 * does not parse leaves the spec fields null, which fails validation in core for that task alone.
 */
export function recordFromHash(hash: Record<string, string | undefined>, fields: TaskField[] | null): Partial<TaskRecord> {
  const spec = specBlob(hash._j)
  if (fields === null) return fullRecord(hash, spec)
  const out: Record<string, unknown> = {}
  for (const f of fields) out[f] = readValue(KINDS[f], textOf(hash, spec, f))
  return out as Partial<TaskRecord>
}

/**
 * The whole record, built as one object literal: every record has the same shape (fast
 * property access wherever it goes). The type makes the literal name every field once.
 */
function fullRecord(hash: Record<string, string | undefined>, spec: Record<string, unknown> | null): Partial<TaskRecord> {
  const read = (f: TaskField): unknown => readValue(KINDS[f], textOf(hash, spec, f))
  const record: Record<TaskField, unknown> = {
    func: read('func'),
    pattern: read('pattern'),
    args: read('args'),
    kwargs: read('kwargs'),
    name: read('name'),
    priority: read('priority'),
    duration: read('duration'),
    cpus: read('cpus'),
    memory: read('memory'),
    host: read('host'),
    platform: read('platform'),
    user: read('user'),
    group: read('group'),
    cwd: read('cwd'),
    environ: read('environ'),
    interpreter: read('interpreter'),
    isolation: read('isolation'),
    stdin: read('stdin'),
    stdinPath: read('stdinPath'),
    stdoutPath: read('stdoutPath'),
    stderrPath: read('stderrPath'),
    ioPaths: read('ioPaths'),
    retries: read('retries'),
    retryDelay: read('retryDelay'),
    runAt: read('runAt'),
    expects: read('expects'),
    parent: read('parent'),
    extra: read('extra'),
    id: read('id'),
    status: read('status'),
    dependencies: read('dependencies'),
    attempt: read('attempt'),
    retryCount: read('retryCount'),
    result: read('result'),
    error: read('error'),
    failedDependency: read('failedDependency'),
    createdAt: read('createdAt'),
    startedAt: read('startedAt'),
    finishedAt: read('finishedAt'),
    worker: read('worker'),
    leaseUntil: read('leaseUntil'),
    progress: read('progress'),
    usage: read('usage'),
    reason: read('reason'),
  }
  return record as Partial<TaskRecord>
}

function specBlob(text: string | undefined): Record<string, unknown> | null {
  if (text === undefined) return null
  try {
    const parsed: unknown = JSON.parse(text)
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/** The hash fields to read (HMGET) for `fields`: them, and `_j` when one of them lives there. */
export function hashFieldsFor(fields: TaskField[]): string[] {
  return fields.some(inSpecBlob) ? [...fields, '_j'] : fields
}

/** A record from the values of HMGET `hashFieldsFor(fields)`. */
export function recordFromValues(values: (string | null)[], fields: TaskField[]): Partial<TaskRecord> {
  const names = hashFieldsFor(fields)
  const hash: Record<string, string | undefined> = {}
  names.forEach((name, i) => {
    hash[name] = values[i] ?? undefined
  })
  return recordFromHash(hash, fields)
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

/**
 * The arguments of submit-1 for a new task, but its dependencies: the `_j` JSON of its spec,
 * its dispatch key, and runAt, parent and user ("" for none).
 */
export function newTaskFields(task: NewTask): [string, string, string, string, string] {
  const out: Record<string, string> = {}
  for (const [field, value] of Object.entries(task.spec)) {
    const stored = storeValue(field as TaskField, value)
    if (stored !== null) out[field] = stored
  }
  return [JSON.stringify(out), dispatchKey(task.spec.priority, task.spec.duration), out.runAt ?? '', out.parent ?? '', out.user ?? '']
}

/** Dependencies for submit-1: existing ids as they are, batch indexes as -(index + 1). */
export function newTaskDependencies(task: NewTask): string {
  return JSON.stringify(task.dependencies.map((d) => ('id' in d ? d.id : -(d.index + 1))))
}
