import {
  BaseBroker,
  CallBatcher,
  type BrokerCapabilities,
  type Changes,
  type ClaimRequest,
  type ClaimResult,
  type LeaseRef,
  type NewTask,
  type Outcome,
  type OutputChunk,
  type OutputInput,
  type PatchFields,
  type SearchFilter,
  type SearchPage,
  type TaskField,
  type TaskRecord,
  type TaskSpec,
  type TaskStatus,
  dependencyFailedText,
} from '@aque/core'
import pg from 'pg'
import { checkout } from './checkout.js'
import { type AcceptClaim, DELAYED, READY, claimAccepted, claimOrder } from './claim.js'
import { clientConfig, isTransient, translateError } from './connection.js'
import { EventTransport } from './event-transport.js'
import { type FinishItem, finishCall } from './finish-call.js'
import { channelOf, migrate, quoteIdent } from './migrate.js'
import { appendOutput, chunkData, getOutput } from './output.js'
import type { Queryable } from './queryable.js'
import { retryTasks } from './retry-tasks.js'
import { type TaskRow, columnsFor, specJson, toPartial, toRecord } from './rows.js'
import { type PostgresOptions, formatPostgresUrl, parsePostgresUrl } from './url.js'

/** How long an operation keeps retrying after the connection was lost, ms. */
const RETRY_FOR_MS = 15_000
/** Claims made by looking first (two round trips) after a worker refused a task claimed at once. */
const CAREFUL_CLAIMS = 20
/**
 * A claim of at least this many tasks, made while there is a backlog (the previous claim got
 * all it asked for, or at least half this many), runs as two statements on two connections at
 * once (see `claimTop`).
 */
const SPLIT_CLAIMS_FROM = 128
/** Connections of the command pool. */
const POOL_SIZE = 10

/** Placeholders of the DependencyFailedError text that SQL fills in (checked in `failedTemplate`). */
const TPL_ID = 9007199254740991
const TPL_STATUS = 'zqstatuszq'
let template: string | null = null

/** The codec text of DependencyFailedError with placeholders, checked against the real thing once. */
function failedTemplate(): string {
  if (template === null) {
    const tpl = dependencyFailedText(TPL_ID, TPL_STATUS)
    const filled = tpl.replaceAll(String(TPL_ID), '42').replaceAll(TPL_STATUS, 'killed')
    if (filled !== dependencyFailedText(42, 'killed')) throw new Error('DependencyFailedError text cannot be filled in by SQL: the codec changed its shape')
    template = tpl
  }
  return template
}

const NO_CHANGES: Changes = { changes: [], newWork: false }
// Shared by every finish (frozen, read only): no object per task for what is always the same.
const NONE = Object.freeze([]) as unknown as Changes['changes']
type Finished = Readonly<{ applied: boolean } & Changes>
const APPLIED: Finished = Object.freeze({ applied: true, changes: NONE, newWork: false })
const NOT_APPLIED: Finished = Object.freeze({ applied: false, changes: NONE, newWork: false })
/** What each finish of a batch returns to its caller. */
const finished = (applied: boolean[]): Finished[] => applied.map((a) => (a ? APPLIED : NOT_APPLIED))

/**
 * The PostgreSQL broker (`postgres://`, `postgresql://`): one schema per queue, created by
 * numbered migrations; claims through a partial index of ready tasks with FOR UPDATE SKIP
 * LOCKED; claim, finish, submit and reap run as one function call each and send their own
 * NOTIFYs in the same transaction, so the base has nothing left to publish for them.
 */
export class PostgresBroker extends BaseBroker {
  readonly scheme: string
  readonly capabilities: BrokerCapabilities = { localFunctions: false, shared: true, trustedRecords: false }
  readonly options: PostgresOptions
  /** The quoted schema, for SQL text. */
  private readonly s: string
  private readonly pool: pg.Pool
  private readonly transport: EventTransport
  private readonly finisher: CallBatcher<FinishItem, Finished>
  /** Connected once: from then on a lost connection is retried instead of reported. */
  private reachable = false
  private readonly db: Queryable
  /** Numbers of the prepared fetch statements, by column list (names are limited to 63 bytes). */
  private readonly fetchStatements = new Map<string, number>()
  /** Whether the last claim_top suggests a backlog: a claim splits in two only then (see claimTop). */
  private backlog = false
  /** Claims left to make carefully (see `_claim`). */
  private carefulClaims = 0

  /** @param url `postgres://user:pass@host:port/db?schema=NAME&sslmode=MODE&application_name=NAME` or parsed options */
  constructor(url: string | URL | PostgresOptions) {
    super()
    this.options = typeof url === 'string' || url instanceof URL ? parsePostgresUrl(url) : url
    this.scheme = this.options.scheme
    this.s = quoteIdent(this.options.schema)
    const config = clientConfig(this.options)
    this.pool = new pg.Pool({ ...config, max: POOL_SIZE })
    // An idle pooled connection that dies (server restart, terminated backend) is dropped by
    // the pool and replaced on next use; nothing was in flight on it, so nothing is lost.
    this.pool.on('error', () => {})
    this.db = { query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => this.run(() => this.pool.query<R>(text, values)) }
    this.transport = new EventTransport(
      config,
      channelOf(this.options.schema),
      {
        notify: async (text) => {
          await this.query('publish', 'SELECT pg_notify($1, $2)', [channelOf(this.options.schema), text])
        },
        spill: async (text) => {
          await this.db.query(
            `WITH e AS (INSERT INTO ${this.s}.events (payload) VALUES ($1) RETURNING id),
                  old AS (DELETE FROM ${this.s}.events WHERE created_at < now() - interval '10 minutes')
             SELECT pg_notify($2, '@' || e.id) FROM e`,
            [text, channelOf(this.options.schema)],
          )
        },
        spilled: async (id) => {
          const { rows } = await this.db.query<{ payload: string }>(`SELECT payload FROM ${this.s}.events WHERE id = $1`, [id])
          return rows[0]?.payload ?? null
        },
        chunk: (id, stream, offset) => chunkData(this.db, this.s, id, stream, offset),
      },
      (event, payload) => this.deliver(event, payload),
    )
    // One finish statement in flight at a time: finishes made meanwhile go together in the next.
    this.finisher = new CallBatcher((items) => this.finishBatch(items), { maxInFlight: 1 })
  }

  toUrl(options: { hidePassword?: boolean } = {}): string {
    return formatPostgresUrl(this.options, options.hidePassword ?? false)
  }

  // ---- plumbing ------------------------------------------------------------------------------
  /** Runs `op`, retrying a lost connection or a deadlock for a while once the server was reached. */
  private async run<T>(op: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + RETRY_FOR_MS
    let delay = 5
    for (;;) {
      try {
        const result = await op()
        this.reachable = true
        return result
      } catch (err) {
        if (!this.reachable || this.isClosed || !isTransient(err) || Date.now() + delay > deadline) throw translateError(err, this.options)
        await new Promise((r) => setTimeout(r, delay))
        delay = Math.min(delay * 2, 500)
      }
    }
  }

  /** A prepared statement (parsed once per connection): for the statements run per task. */
  private query<R extends pg.QueryResultRow = TaskRow>(name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.run(() => this.pool.query<R>({ name: `aque.${name}`, text, values }))
  }

  /** Runs `body` in a transaction on one connection, all again if the connection was lost. */
  private transaction<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.run(async () => {
      const { client, release } = await checkout(this.pool)
      let broken = false
      try {
        await client.query('BEGIN')
        const result = await body(client)
        await client.query('COMMIT')
        return result
      } catch (err) {
        broken = true
        await client.query('ROLLBACK').catch(() => {})
        throw err
      } finally {
        release(broken)
      }
    })
  }

  // ---- lifecycle -----------------------------------------------------------------------------
  async _init(): Promise<void> {
    failedTemplate()
    await this.run(() => migrate(this.pool, this.options.schema))
  }

  async _destroy(): Promise<void> {
    await this.run(() => this.pool.query(`DROP SCHEMA IF EXISTS ${this.s} CASCADE`))
  }

  async _close(): Promise<void> {
    await this.finisher.idle()
    await this.transport.close()
    await this.pool.end()
  }

  async _listen(): Promise<void> {
    try {
      await this.transport.listen()
    } catch (err) {
      throw translateError(err, this.options)
    }
  }

  async _publish(event: string, payload: unknown): Promise<void> {
    await this.transport.publish(event, payload)
  }

  // ---- scheduling ----------------------------------------------------------------------------
  async _submit(batch: NewTask[], now: number): Promise<{ ids: number[] } & Changes> {
    const only = batch[0]
    if (batch.length === 1 && only && only.dependencies.length === 0) return this.submitOne(only.spec, now)
    const dTask: number[] = []
    const dId: (number | null)[] = []
    const dIndex: (number | null)[] = []
    batch.forEach((item, i) => {
      for (const dep of item.dependencies) {
        dTask.push(i + 1)
        dId.push('id' in dep ? dep.id : null)
        dIndex.push('index' in dep ? dep.index + 1 : null)
      }
    })
    const specs = batch.map((b) => b.spec)
    const rows = await this.submitQuery<{ ids: number[] }>({
      text: `SELECT ids FROM ${this.s}.submit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      values: [
        now,
        specs.map((s) => s.priority),
        specs.map((s) => s.duration),
        specs.map((s) => s.runAt),
        specs.map((s) => s.parent),
        specs.map((s) => s.user),
        specs.map((s) => s.args),
        specs.map((s) => s.kwargs),
        specs.map((s) => s.stdin),
        specs.map((s) => s.extra),
        specs.map(specJson),
        dTask,
        dId,
        dIndex,
        failedTemplate(),
      ],
    })
    return { ids: rows[0]?.ids ?? [], ...NO_CHANGES }
  }

  /** Runs a submit's statement once: not retried, as a batch whose commit was lost in transit would be created twice. */
  private async submitQuery<R extends pg.QueryResultRow>(query: pg.QueryConfig): Promise<R[]> {
    try {
      const { rows } = await this.pool.query<R>(query)
      this.reachable = true
      return rows
    } catch (err) {
      throw translateError(err, this.options)
    }
  }

  /**
   * A task without dependencies (`queue.submit`, the usual call) in one statement: the insert
   * and the messages `submit` would send ('pending', and new work). The function's general
   * case (dependencies, batch order, failed dependencies) costs a lone task about as much
   * again in plpgsql overhead as the insert itself.
   */
  private async submitOne(spec: TaskSpec, now: number): Promise<{ ids: number[] } & Changes> {
    const rows = await this.submitQuery<{ id: number }>({
      name: 'aque.submit-one',
      text: `WITH t AS (
               INSERT INTO ${this.s}.tasks (status, priority, duration, run_at, wait_until, remaining, parent, "user",
                                           dependencies, created_at, args, kwargs, stdin, extra, spec)
               VALUES ('pending', $2, $3, $4, CASE WHEN $4::bigint > $1::bigint THEN $4::bigint END, 0, $5, $6,
                       '{}', $1, $7, $8, $9, $10, $11)
               RETURNING id)
             SELECT id, pg_notify($12, 'task_status' || E'\\n' || json_build_object('ids', ARRAY[id], 'status', 'pending')::text),
                    pg_notify($12, 'new_work' || E'\\n{}')
             FROM t`,
      values: this.loneValues(spec, now),
    })
    return { ids: rows.map((r) => r.id), ...NO_CHANGES }
  }

  /** $1…$12 of the statements that store a lone task: now, its fields, the channel. */
  private loneValues(spec: TaskSpec, now: number): unknown[] {
    return [now, spec.priority, spec.duration, spec.runAt, spec.parent, spec.user, spec.args, spec.kwargs, spec.stdin, spec.extra, specJson(spec), channelOf(this.options.schema)]
  }

  /**
   * submitOne for a task an idle worker of this process waits for (BaseBroker.offerSlots):
   * stored already running for it, under its lease, when no other task is ready (nor due) to
   * run before it; else stored pending as usual. The messages are those of a submit then a
   * claim ('pending', then 'running'), or of a submit. Durable like any submit.
   */
  protected override async _submitClaimed(task: NewTask, now: number, claim: { worker: string; leaseMs: number }): Promise<{ id: number; claimed: TaskRecord | null } & Changes> {
    const rows = await this.submitQuery<TaskRow>({
      name: 'aque.submit-claimed',
      text: `WITH clear AS (
               SELECT NOT EXISTS (SELECT 1 FROM ${this.s}.tasks WHERE ${READY})
                  AND NOT EXISTS (SELECT 1 FROM ${this.s}.tasks WHERE ${DELAYED} AND wait_until <= $1) AS ok
             ), t AS (
               INSERT INTO ${this.s}.tasks (status, priority, duration, run_at, remaining, parent, "user", dependencies, created_at,
                                           args, kwargs, stdin, extra, spec, attempt, worker, started_at, lease_until)
               SELECT CASE WHEN ok THEN 'running' ELSE 'pending' END, $2, $3, $4, 0, $5, $6, '{}', $1, $7, $8, $9, $10, $11,
                      CASE WHEN ok THEN 1 ELSE 0 END, CASE WHEN ok THEN $13 END, CASE WHEN ok THEN $1::bigint END,
                      CASE WHEN ok THEN $1::bigint + $14::bigint END
               FROM clear
               RETURNING *)
             SELECT t.*, pg_notify($12, 'task_status' || E'\n' || json_build_object('ids', ARRAY[t.id], 'status', 'pending')::text),
                    pg_notify($12, CASE WHEN t.status = 'running'
                                        THEN 'task_status' || E'\n' || json_build_object('ids', ARRAY[t.id], 'status', 'running')::text
                                        ELSE 'new_work' || E'\n{}' END)
             FROM t`,
      values: [...this.loneValues(task.spec, now), claim.worker, claim.leaseMs],
    })
    const row = rows[0]
    if (!row) throw new Error('the submit returned no row')
    return { id: row.id as number, claimed: row.status === 'running' ? toRecord(row) : null, ...NO_CHANGES }
  }

  async _claim(request: ClaimRequest): Promise<ClaimResult & Changes> {
    const { worker, limit, leaseMs, now, accept } = request
    if (accept && this.carefulClaims > 0) {
      this.carefulClaims--
      return { ...(await this.claimCarefully({ worker, limit, leaseMs, now, accept })), ...NO_CHANGES }
    }
    // One round trip: claim the top of the ready index, then hand back at once what the worker
    // refuses (rare: only tasks that do not fit it; they were seen as running for that long).
    // Refusals switch to careful claims (look, then claim) for a while.
    const rows = await this.claimTop(worker, limit, leaseMs, now)
    const first = rows[0]
    if (rows.length === 1 && first?.id === null) return { tasks: [], nextRunAt: (first.run_at as number | null) ?? null, ...NO_CHANGES }
    const claimed = rows.map((row) => ({ record: toRecord(row, { startedAt: now, reason: null }), startedAt: row.started_at, reason: row.reason })).sort((a, b) => claimOrder(a.record, b.record))
    const tasks: TaskRecord[] = []
    const refused: typeof claimed = []
    for (const c of claimed) {
      if (!accept || accept(c.record)) tasks.push(c.record)
      else refused.push(c)
    }
    if (refused.length === 0) return { tasks, nextRunAt: null, ...NO_CHANGES }
    this.carefulClaims = CAREFUL_CLAIMS
    await this.query('unclaim', `SELECT ${this.s}.unclaim($1, $2, $3, $4, $5)`, [
      worker,
      refused.map((c) => c.record.id),
      refused.map((c) => c.record.attempt),
      refused.map((c) => c.startedAt),
      refused.map((c) => c.reason),
    ])
    if (!accept || tasks.length >= limit) return { tasks, nextRunAt: null, ...NO_CHANGES }
    const more = await this.claimCarefully({ worker, limit: limit - tasks.length, leaseMs, now, accept })
    return { tasks: [...tasks, ...more.tasks], nextRunAt: tasks.length + more.tasks.length > 0 ? null : more.nextRunAt, ...NO_CHANGES }
  }

  /**
   * claim_top, with the finishes waiting to be sent (tasks that ended this turn) in the same
   * statement and transaction, before the claim: one round trip and one commit instead of two,
   * and the claim sees the dependents those finishes released.
   */
  private async claimTop(worker: string, limit: number, leaseMs: number, now: number): Promise<TaskRow[]> {
    // Finishes made while this claim is out wait for it: a worker that claims ahead claims
    // again as soon as it has the answer, and that claim carries them (else they go at the end
    // of that turn). A finish waits at most one claim's round trip.
    this.finisher.hold()
    try {
      if (limit < SPLIT_CLAIMS_FROM || !this.backlog) {
        const rows = await this.claimTopWith(worker, limit, leaseMs, now)
        this.noteBacklog(claimedCount(rows), limit)
        return rows
      }
      // A backlog: two statements on two connections, each claiming half and carrying half of
      // the finishes. One server process would otherwise do all the writing while this process
      // reads the last answer and prepares the next claim; the second (on the other CPU) fills
      // those gaps. The second statement skips the rows the first one holds (SKIP LOCKED).
      const half = Math.ceil(limit / 2)
      const [a, b] = await Promise.all([
        this.claimTopWith(worker, half, leaseMs, now, this.finishesForFirstLane()),
        this.claimTopWith(worker, limit - half, leaseMs, now),
      ])
      this.noteBacklog(claimedCount(a) + claimedCount(b), limit)
      if (claimedCount(a) === 0) return claimedCount(b) === 0 ? a : b
      return claimedCount(b) === 0 ? a : a.concat(b)
    } finally {
      this.finisher.release()
    }
  }

  private noteBacklog(claimed: number, limit: number): void {
    this.backlog = claimed >= SPLIT_CLAIMS_FROM / 2 || (claimed > 0 && claimed >= limit)
  }

  /**
   * How many of the waiting finishes go with the first of two claim statements (the rest go
   * with the second): half, or all of them if one task has two finishes waiting, which must be
   * applied in order.
   */
  private finishesForFirstLane(): number {
    const ids = this.finisher.peek().map((item) => item.id)
    return new Set(ids).size === ids.length ? Math.ceil(ids.length / 2) : ids.length
  }

  /** claim_top, with the first `finishes` waiting finishes (all by default) in the same statement. */
  private async claimTopWith(worker: string, limit: number, leaseMs: number, now: number, finishes?: number): Promise<TaskRow[]> {
    if (this.finisher.pending === 0 || finishes === 0) {
      return (await this.query('claim-top', `SELECT * FROM ${this.s}.claim_top($1, $2, $3, $4)`, [worker, limit, leaseMs, now])).rows
    }
    const finishing = this.finisher.take(finishes)
    try {
      const call = finishCall(this.s, finishing.items)
      const n = call.values.length
      // claim_top takes the finish's result as an argument (times 0), so that it runs after it.
      // The result comes once, on the first row (it is an array as long as the batch).
      const { rows } = await this.query(
        `${call.name}-claim-top`,
        `SELECT CASE WHEN c.ordinality = 1 THEN f.applied END AS applied, c.* FROM ${call.expr} AS f(applied),
           LATERAL ${this.s}.claim_top($${n + 1}::text, $${n + 2}::integer, $${n + 3}::bigint, $${n + 4}::bigint + 0 * cardinality(f.applied)) WITH ORDINALITY AS c`,
        [...call.values, worker, limit, leaseMs, now],
      )
      finishing.settle(finished(call.applied(rows[0]?.applied)))
      return rows
    } catch (err) {
      finishing.settle({ error: err })
      throw err
    }
  }

  /** A claim that looks before it claims (see claimAccepted), on one connection. */
  private claimCarefully(claim: AcceptClaim): Promise<{ tasks: TaskRecord[]; nextRunAt: number | null }> {
    return this.run(async () => {
      const { client, release } = await checkout(this.pool)
      let broken = false
      try {
        return await claimAccepted(client, this.s, claim)
      } catch (err) {
        broken = true
        await client.query('ROLLBACK').catch(() => {})
        throw err
      } finally {
        release(broken)
      }
    })
  }

  async _heartbeat(_worker: string, leases: LeaseRef[], leaseMs: number, now: number): Promise<number[]> {
    const { rows } = await this.query<{ id: number; attempt: number }>(
      'heartbeat',
      `UPDATE ${this.s}.tasks t SET lease_until = $3
       FROM unnest($1::bigint[], $2::integer[]) AS l(id, attempt)
       WHERE t.id = l.id AND t.attempt = l.attempt AND t.status IN ('running', 'suspended')
       RETURNING t.id, t.attempt`,
      [leases.map((l) => l.id), leases.map((l) => l.attempt), now + leaseMs],
    )
    const held = new Set(rows.map((r) => `${r.id}/${r.attempt}`))
    return leases.filter((l) => !held.has(`${l.id}/${l.attempt}`)).map((l) => l.id)
  }

  _finish(id: number, attempt: number | null, outcome: Outcome, now: number): Promise<{ applied: boolean } & Changes> {
    // The functions publish what changed in their own transaction (NOTIFY): nothing to report.
    return this.finisher.add({ id, attempt, outcome, now })
  }

  /** Finishes several runs in one statement (see CallBatcher). */
  private async finishBatch(items: FinishItem[]): Promise<Finished[]> {
    const call = finishCall(this.s, items)
    const { rows } = await this.query<{ applied: unknown }>(call.name, `SELECT ${call.expr} AS applied`, call.values)
    return finished(call.applied(rows[0]?.applied))
  }

  async _setSuspended(id: number, attempt: number, suspended: boolean, _now: number): Promise<{ applied: boolean } & Changes> {
    // The function publishes the status change in its own transaction (migration 000007).
    const { rows } = await this.query<{ r: number }>('set_suspended', `SELECT ${this.s}.set_suspended($1, $2, $3) AS r`, [id, attempt, suspended])
    return { applied: (rows[0]?.r ?? 0) > 0, ...NO_CHANGES }
  }

  async _reapExpired(now: number): Promise<Changes> {
    // Rare, and its count is wanted back: the base publishes these changes.
    const { rows } = await this.query<{ ids: number[] }>('reap', `SELECT ${this.s}.reap($1) AS ids`, [now])
    const ids = rows[0]?.ids ?? []
    return { changes: [{ status: 'pending', ids }], newWork: ids.length > 0 }
  }

  async _kill(ids: number[], error: string, now: number): Promise<{ running: number[] } & Changes> {
    const { rows } = await this.db.query<{ running: number[]; killed: number[]; failed: number[] }>(
      `SELECT running, killed, failed FROM ${this.s}.kill($1, $2, $3, $4)`,
      [ids, error, ids.map((id) => dependencyFailedText(id, 'killed')), now],
    )
    const r = rows[0] ?? { running: [], killed: [], failed: [] }
    return {
      running: r.running,
      changes: [
        { status: 'killed', ids: r.killed },
        { status: 'error', ids: r.failed },
      ],
      newWork: false,
    }
  }

  async _retry(ids: number[], includeSuccess: boolean, now: number): Promise<Changes> {
    return this.transaction((client) => retryTasks(client, this.s, ids, includeSuccess, now))
  }

  // ---- low-level task API --------------------------------------------------------------------
  async _fetch(ids: number[], fields: TaskField[] | null): Promise<Map<number, Partial<TaskRecord>>> {
    const cols = columnsFor(fields)
    let n = this.fetchStatements.get(cols)
    if (n === undefined) this.fetchStatements.set(cols, (n = this.fetchStatements.size))
    const { rows } = await this.query(`fetch${n}`, `SELECT ${cols} FROM ${this.s}.tasks WHERE id = ANY($1::bigint[])`, [ids])
    const byId = new Map<number, Partial<TaskRecord>>()
    for (const row of rows) byId.set(row.id as number, toPartial(row, fields))
    // In the order asked, unknown ids absent.
    const out = new Map<number, Partial<TaskRecord>>()
    for (const id of ids) {
      const record = byId.get(id)
      if (record) out.set(id, record)
    }
    return out
  }

  async _search(filter: SearchFilter, limit: number, fields: TaskField[] | null): Promise<SearchPage> {
    const where: string[] = []
    const values: unknown[] = []
    const add = (sql: string, value: unknown) => {
      values.push(value)
      where.push(sql.replace('?', `$${values.length}`))
    }
    if (filter.status) add('status = ANY(?::text[])', filter.status)
    if (filter.parent !== undefined) add('parent = ?', filter.parent)
    if (filter.user !== undefined) add('"user" = ?', filter.user)
    if (filter.afterId !== undefined) add('id > ?', filter.afterId)
    values.push(limit + 1)
    const { rows } = await this.db.query<TaskRow>(
      `SELECT ${columnsFor(fields)} FROM ${this.s}.tasks ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT $${values.length}`,
      values,
    )
    const more = rows.length > limit
    const page = more ? rows.slice(0, limit) : rows
    return { records: page.map((r) => toPartial(r, fields)), lastId: more ? ((page[page.length - 1]?.id as number) ?? null) : null }
  }

  async _delete(ids: number[]): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `WITH d AS (DELETE FROM ${this.s}.tasks WHERE id = ANY($1::bigint[]) RETURNING id),
            o AS (DELETE FROM ${this.s}.output WHERE task_id IN (SELECT id FROM d)),
            h AS (DELETE FROM ${this.s}.output_heads WHERE task_id IN (SELECT id FROM d)),
            e AS (DELETE FROM ${this.s}.deps WHERE dependent IN (SELECT id FROM d) OR dependency IN (SELECT id FROM d))
       SELECT count(*)::integer AS n FROM d`,
      [ids],
    )
    return rows[0]?.n ?? 0
  }

  async _counts(): Promise<Partial<Record<TaskStatus, number>>> {
    const { rows } = await this.db.query<{ status: TaskStatus; n: number }>(`SELECT status, count(*)::integer AS n FROM ${this.s}.tasks GROUP BY status`)
    return Object.fromEntries(rows.map((r) => [r.status, r.n]))
  }

  async _patch(id: number, fields: PatchFields): Promise<void> {
    const sets: string[] = []
    const values: unknown[] = [id]
    const set = (column: string, value: unknown) => {
      values.push(value)
      sets.push(`${column} = $${values.length}`)
    }
    if ('progress' in fields) set('progress', fields.progress == null ? null : JSON.stringify(fields.progress))
    if ('usage' in fields) set('usage', fields.usage == null ? null : JSON.stringify(fields.usage))
    // A reason says why a task waits: a late one must not stick to a task that runs or ran.
    if ('reason' in fields) {
      values.push(fields.reason ?? null)
      sets.push(`reason = CASE WHEN status = 'pending' THEN $${values.length} ELSE reason END`)
    }
    if (sets.length === 0) return
    await this.db.query(`UPDATE ${this.s}.tasks SET ${sets.join(', ')} WHERE id = $1`, values)
  }

  async _appendOutput(id: number, chunks: OutputInput[]): Promise<OutputChunk[]> {
    return appendOutput(this.db, this.s, id, chunks)
  }

  async _getOutput(ids: number[], since: number): Promise<OutputChunk[]> {
    return getOutput(this.db, this.s, ids, since)
  }
}

/** Tasks claimed in the rows of claim_top (one row with a null id when it found none). */
function claimedCount(rows: TaskRow[]): number {
  return rows.length === 1 && rows[0]?.id === null ? 0 : rows.length
}
