import { type NewTask, TASK_FIELDS, type TaskField, type TaskRecord } from '@aque/core'

/**
 * How each task field is stored. Every hash value is a string; a null field is absent. Codec
 * texts (`args`, `result`, `error`, …) are stored verbatim. The fields of the spec (what was
 * submitted, never changed afterwards) are kept together in the hash field `_s`, as one JSON
 * object of their values (numbers as numbers, JSON fields as JSON, nulls left out): a submit
 * stores one field for them, a claim reads one and parses it with one `JSON.parse` (the scripts
 * never look inside). The state fields, and the few spec fields the scripts read (SEPARATE),
 * are hash fields of their own, as strings; they win over `_s`. Tasks stored before `_s` hold
 * their spec in `_j`, a JSON object of the stored strings, and are still read.
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
/** The kind of a hash field that is a task field (a Map: a stored name never reaches a prototype). */
const KIND_OF = new Map(Object.entries(KINDS)) as Map<string, Kind>
/** Fields that change after submit (or are set by the scripts): hash fields of their own. */
const STATE_FIELDS = new Set<string>(['id', 'status', 'dependencies', 'attempt', 'retryCount', 'result', 'error', 'failedDependency', 'createdAt', 'startedAt', 'finishedAt', 'worker', 'leaseUntil', 'progress', 'usage', 'reason'])
/** Spec fields stored in `_s` and also on their own, for the scripts: runAt (retry changes it), parent and user (search). */
const SEPARATE = ['runAt', 'parent', 'user'] as const
/** Whether reading `field` needs the spec (`_s`, or `_j` of older tasks). */
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

/**
 * Copies the spec fields of a stored task onto `record`: from `_s` as parsed, or from the
 * strings of an older task's `_j`. Copies nothing when there is none or it does not parse (the
 * spec fields then stay null, which fails validation in core for that task alone). Only spec
 * fields are taken: a stored name never becomes anything else on the record.
 */
function copySpec(record: Record<string, unknown>, typed: string | undefined, legacy: string | undefined, only: readonly string[] | null = null): void {
  const text = typed ?? legacy
  if (text === undefined) return
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return
  const spec = parsed as Record<string, unknown>
  for (const field in spec) {
    const kind = KIND_OF.get(field)
    if (kind === undefined || STATE_FIELDS.has(field) || (only !== null && !only.includes(field))) continue
    const value = spec[field]
    record[field] = typed !== undefined ? value : readValue(kind, typeof value === 'string' ? value : undefined)
  }
}

/**
 * A record from the flat [field, value, …] reply of HGETALL: every field null, then the
 * spec's, then the hash's own fields (which win). One pass to find the spec, one for the rest.
 */
export function recordFromPairs(pairs: string[]): Partial<TaskRecord> {
  let typed: string | undefined
  let legacy: string | undefined
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    if (pairs[i] === '_s') typed = pairs[i + 1]
    else if (pairs[i] === '_j') legacy = pairs[i + 1]
  }
  const record = blankRecord() as Record<string, unknown>
  copySpec(record, typed, legacy)
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const field = pairs[i] as string
    const kind = KIND_OF.get(field)
    if (kind !== undefined) record[field] = readValue(kind, pairs[i + 1])
  }
  return record as Partial<TaskRecord>
}

/**
 * A record from a task's hash (all of it, or the `fields` asked for and the spec fields). A
 * spec that does not parse leaves the spec fields null, which fails validation in core for
 * that task alone.
 */
export function recordFromHash(hash: Record<string, string | undefined>, fields: TaskField[] | null): Partial<TaskRecord> {
  if (fields === null) return recordFromPairs(Object.entries(hash).flatMap(([f, v]) => (v === undefined ? [] : [f, v])))
  const out: Record<string, unknown> = {}
  for (const f of fields) out[f] = null
  copySpec(out, hash._s, hash._j, fields)
  for (const f of fields) {
    const own = Object.hasOwn(hash, f) ? hash[f] : undefined
    if (own !== undefined || STATE_FIELDS.has(f)) out[f] = readValue(KINDS[f], own)
  }
  return out as Partial<TaskRecord>
}

/** Every task field, null: the template of a record read back (see blankRecord). */
const BLANK = Object.fromEntries(TASK_FIELDS.map((field) => [field, null])) as Record<TaskField, null>

/** A record with every field null, cloned from one template: every record has the same shape (fast property access wherever it goes). */
function blankRecord(): Record<TaskField, null> {
  return { ...BLANK }
}

/** The hash fields to read (HMGET) for `fields`: them, and the spec (`_s`, or `_j` of older tasks) when one of them lives there. */
export function hashFieldsFor(fields: TaskField[]): string[] {
  return fields.some(inSpecBlob) ? [...fields, '_s', '_j'] : fields
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

/** Scratch space of orderKey (big-endian by default). */
const bits = new DataView(new ArrayBuffer(8))

/**
 * 16 hex digits whose string order is the numeric order of `x` (IEEE 754 bits with the sign
 * flipped, negative numbers inverted), reversed when `descending`. Exact for every double, so
 * a priority of 2^53 and a duration of 0.1 sort as they compare, unlike a float score.
 */
export function orderKey(x: number, descending: boolean): string {
  bits.setFloat64(0, x === 0 ? 0 : x)
  let hi = bits.getUint32(0)
  let lo = bits.getUint32(4)
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

/** The last dispatch key made, and what it was made of (most tasks of a batch share them). */
let lastKey = { priority: Number.NaN, duration: Number.NaN, key: '' }

/**
 * The arguments of submit-1 for a new task, but its dependencies: the `_s` JSON of its spec
 * (nulls left out), its dispatch key, and runAt, parent and user ("" for none).
 */
export function newTaskFields(task: NewTask): [string, string, string, string, string] {
  const spec = task.spec as Record<string, unknown>
  const kept: Record<string, unknown> = {}
  for (const field in spec) {
    const value = spec[field]
    if (value !== null && value !== undefined) kept[field] = value
  }
  const { priority, duration, runAt, parent, user } = task.spec
  if (priority !== lastKey.priority || duration !== lastKey.duration) lastKey = { priority, duration, key: dispatchKey(priority, duration) }
  return [JSON.stringify(kept), lastKey.key, runAt === null ? '' : String(runAt), parent === null ? '' : String(parent), user ?? '']
}

/** Dependencies for submit-1: existing ids as they are, batch indexes as -(index + 1). */
export function newTaskDependencies(task: NewTask): string {
  return JSON.stringify(task.dependencies.map((d) => ('id' in d ? d.id : -(d.index + 1))))
}
