import type { TaskRecord } from '@aque/core'
import type pg from 'pg'
import { intArrayLiteral } from './array-literal.js'
import { ALL_COLUMNS, type TaskRow, toRecord } from './rows.js'

/** Most candidates one claim looks at when the worker refuses some. */
const WINDOW = 256

/** Dispatch order: priority desc, duration desc, id asc. */
export function claimOrder(a: TaskRecord, b: TaskRecord): number {
  return b.priority - a.priority || b.duration - a.duration || a.id - b.id
}

export interface AcceptClaim {
  worker: string
  limit: number
  leaseMs: number
  now: number
  accept: (task: TaskRecord) => boolean
}

const int = (n: number): string => String(Math.trunc(n))

/** A task ready to run now, as the ready index (migration 1) reads it. */
export const READY = `status = 'pending' AND remaining = 0 AND wait_until IS NULL`
/** A task ready once its time comes, as the delayed index reads it. */
export const DELAYED = `status = 'pending' AND remaining = 0 AND wait_until IS NOT NULL`

/**
 * A claim with a worker-side `accept`, in one transaction and usually two round trips: the top
 * candidates are locked (FOR UPDATE SKIP LOCKED, so claimers never wait on one another), the
 * worker picks, and the picked ones are claimed before COMMIT. If it refused some, the next
 * candidates are read, up to WINDOW in all. Statements are sent as one simple-protocol text
 * (BEGIN with the first read, the claim with COMMIT), so values are inlined: integers, and
 * the worker id through escapeLiteral.
 */
export async function claimAccepted(client: pg.PoolClient, s: string, c: AcceptClaim): Promise<{ tasks: TaskRecord[]; nextRunAt: number | null }> {
  const ready = `SELECT ${ALL_COLUMNS} FROM ${s}.tasks WHERE ${READY}`
  const order = 'ORDER BY priority DESC, duration DESC, id'
  const seen: number[] = []
  const chosen: TaskRecord[] = []
  let page = Math.max(1, c.limit)
  let text = `BEGIN; SELECT ${s}.promote(${int(c.now)}); ${ready} ${order} LIMIT ${page} FOR UPDATE SKIP LOCKED`
  let complete = false
  for (;;) {
    const results = (await client.query(text)) as unknown as pg.QueryResult<TaskRow> | pg.QueryResult<TaskRow>[]
    const rows = Array.isArray(results) ? (results[results.length - 1]?.rows ?? []) : results.rows
    for (const row of rows) {
      const record = toRecord(row)
      seen.push(record.id)
      if (chosen.length < c.limit && c.accept(record)) chosen.push(record)
    }
    complete = rows.length < page
    if (chosen.length >= c.limit || complete || seen.length >= WINDOW) break
    page = Math.min(WINDOW - seen.length, Math.max(16, 2 * (c.limit - chosen.length)))
    text = `${ready} AND id <> ALL('${intArrayLiteral(seen)}'::bigint[]) ${order} LIMIT ${page} FOR UPDATE SKIP LOCKED`
  }
  if (chosen.length === 0) {
    const results = (await client.query(`SELECT ${s}.next_run_at(${int(c.now)}, ${complete ? `'${intArrayLiteral(seen)}'` : 'NULL'}::bigint[]) AS next; COMMIT`)) as unknown as pg.QueryResult<{ next: number | null }>[]
    return { tasks: chosen, nextRunAt: results[0]?.rows[0]?.next ?? null }
  }
  const ids = chosen.map((r) => r.id)
  await client.query(
    `SELECT count(*) FROM ${s}.claim_ids('${intArrayLiteral(ids)}'::bigint[], ${client.escapeLiteral(c.worker)}, ${int(c.leaseMs)}, ${int(c.now)}); COMMIT`,
  )
  for (const r of chosen) {
    r.status = 'running'
    r.attempt += 1
    r.worker = c.worker
    r.startedAt = c.now
    r.leaseUntil = c.now + c.leaseMs
    r.reason = null
  }
  return { tasks: chosen, nextRunAt: null }
}
