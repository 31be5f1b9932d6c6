import type { TaskField, TaskRecord, TaskSpec } from '@aque/core'

/** Fields of a TaskSpec kept together as JSON text in the `spec` column: nothing filters on them. */
const SPEC_JSON_FIELDS = [
  'func',
  'pattern',
  'name',
  'cpus',
  'memory',
  'host',
  'platform',
  'group',
  'cwd',
  'environ',
  'interpreter',
  'isolation',
  'stdinPath',
  'stdoutPath',
  'stderrPath',
  'ioPaths',
  'retries',
  'retryDelay',
  'expects',
] as const satisfies readonly (keyof TaskSpec)[]
const inSpecJson = new Set<string>(SPEC_JSON_FIELDS)

/** Record fields stored in a column of their own, and that column. */
const COLUMN_OF: Partial<Record<TaskField, string>> = {
  id: 'id',
  status: 'status',
  priority: 'priority',
  duration: 'duration',
  runAt: 'run_at',
  parent: 'parent',
  user: '"user"',
  args: 'args',
  kwargs: 'kwargs',
  stdin: 'stdin',
  extra: 'extra',
  dependencies: 'dependencies',
  attempt: 'attempt',
  retryCount: 'retry_count',
  result: 'result',
  error: 'error',
  failedDependency: 'failed_dependency',
  createdAt: 'created_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  worker: 'worker',
  leaseUntil: 'lease_until',
  progress: 'progress',
  usage: 'usage',
  reason: 'reason',
}

/** A row of the tasks table as pg returns it (int8 parsed as numbers, see pool-config.ts). */
export type TaskRow = Record<string, unknown>

/** Every column of a record, for SELECT lists. */
export const ALL_COLUMNS = [...new Set([...Object.values(COLUMN_OF), 'spec'])].join(', ')

/** The SELECT list that holds these fields. */
export function columnsFor(fields: TaskField[] | null): string {
  if (!fields) return ALL_COLUMNS
  const cols = new Set<string>(['id'])
  for (const f of fields) cols.add(inSpecJson.has(f) ? 'spec' : (COLUMN_OF[f] as string))
  return [...cols].join(', ')
}

/**
 * The JSON text of the `spec` column of a TaskSpec. Null fields are left out (every one of
 * these fields is nullable, and most are null): a third of the text, which is copied at every
 * update of the row and read back at every claim.
 */
export function specJson(spec: TaskSpec): string {
  const out: Record<string, unknown> = {}
  for (const f of SPEC_JSON_FIELDS) if (spec[f] !== null) out[f] = spec[f]
  return JSON.stringify(out)
}

const json = (text: unknown): unknown => (typeof text === 'string' ? JSON.parse(text) : null)

/**
 * A full record from a row of every column. A spec field absent from the JSON is null (see
 * specJson). `startedAt` and `reason`, when given, replace the row's (a claim returns them as
 * they were before it).
 */
export function toRecord(row: TaskRow, claimed?: { startedAt: number; reason: null }): TaskRecord {
  const spec = JSON.parse(row.spec as string) as Record<string, unknown>
  return {
    func: spec.func ?? null,
    pattern: spec.pattern ?? null,
    args: row.args,
    kwargs: row.kwargs,
    name: spec.name ?? null,
    priority: row.priority,
    duration: row.duration,
    cpus: spec.cpus ?? null,
    memory: spec.memory ?? null,
    host: spec.host ?? null,
    platform: spec.platform ?? null,
    user: row.user,
    group: spec.group ?? null,
    cwd: spec.cwd ?? null,
    environ: spec.environ ?? null,
    interpreter: spec.interpreter ?? null,
    isolation: spec.isolation ?? null,
    stdin: row.stdin,
    stdinPath: spec.stdinPath ?? null,
    stdoutPath: spec.stdoutPath ?? null,
    stderrPath: spec.stderrPath ?? null,
    ioPaths: spec.ioPaths ?? null,
    retries: spec.retries ?? null,
    retryDelay: spec.retryDelay ?? null,
    runAt: row.run_at,
    expects: spec.expects ?? null,
    parent: row.parent,
    extra: row.extra,
    id: row.id,
    status: row.status,
    dependencies: row.dependencies,
    attempt: row.attempt,
    retryCount: row.retry_count,
    result: row.result,
    error: row.error,
    failedDependency: row.failed_dependency,
    createdAt: row.created_at,
    startedAt: claimed ? claimed.startedAt : row.started_at,
    finishedAt: row.finished_at,
    worker: row.worker,
    leaseUntil: row.lease_until,
    progress: json(row.progress),
    usage: json(row.usage),
    reason: claimed ? claimed.reason : row.reason,
    // Values come from text: the base validates them with zod (capabilities.trustedRecords = false).
  } as TaskRecord
}

/** The requested fields (and id) from a row holding at least their columns. */
export function toPartial(row: TaskRow, fields: TaskField[] | null): Partial<TaskRecord> {
  if (!fields) return toRecord(row)
  const full = toRecord({ spec: '{}', ...row })
  const out: Partial<TaskRecord> = {}
  for (const f of fields) (out as Record<string, unknown>)[f] = full[f]
  return out
}
