/**
 * What a PostgreSQL claim and finish cost, by parts: 10,000 no-op tasks submitted through the
 * broker into a fresh schema, then claimed `--limit` at a time on one plain `pg` client by one
 * variant of the claim, each batch finished (or not) by one variant of the finish, until none
 * is left. Compare the variants' times to see what returning the columns, the PL/pgSQL
 * wrapper, the bookkeeping and the message of `finish_success` cost over the bare statements.
 *
 *   node bench/profiles/postgres-claim-parts.mjs [--claim top|notify|inline|ids] [--finish none|success|message|probe|returning|bare|hot] [--fillfactor N] [--limit 512] [--tasks 10000]
 *
 * claim: `top` the broker's claim_top; `notify` its statement without the function but with its
 * message; `inline` without the message either, returning every column; `ids` the same
 * statement returning only id and attempt.
 * finish: `none`; `success` the broker's finish_success; `bare` its UPDATE alone (no release of
 * dependents, no message); `returning` the UPDATE with the applied ids and texts aggregated as
 * finish_success reads them; `probe` the UPDATE and the probe of dependents; `message` the probe
 * and one NOTIFY of the ids; `hot` an UPDATE that changes no indexed column (result and times
 * only, so it can be HOT: not a valid finish, the floor of one).
 * --fillfactor N: the tasks table is rewritten with that fillfactor before the claims.
 * Besides the wall time it prints the CPU of the client's server process (from /proc, 10 ms
 * ticks), so only for a server on this machine.
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { PostgresBroker } from '@aque/broker-postgres'
import { Queue, encode, task } from '@aque/core'
import pg from 'pg'
import { processCpu } from '../lib/proc-cpu.mjs'

const { values: opts } = parseArgs({
  options: {
    claim: { type: 'string', default: 'top' },
    finish: { type: 'string', default: 'none' },
    limit: { type: 'string', default: '512' },
    tasks: { type: 'string', default: '10000' },
    fillfactor: { type: 'string' },
  },
})
const SERVER = 'postgres://postgres@127.0.0.1:5432/test'
const LEASE_MS = 60_000
const noop = task('bench-noop', () => {})
const schema = `aque_parts_${randomBytes(6).toString('hex')}`
const s = `"${schema}"`
const literal = (values) => `{${values.join(',')}}`
const result = JSON.stringify(encode(undefined, 'result'))

const READY_TOP = `SELECT id, started_at, reason FROM ${s}.tasks
  WHERE status = 'pending' AND remaining = 0 AND wait_until IS NULL
  ORDER BY priority DESC, duration DESC, id LIMIT $2 FOR UPDATE SKIP LOCKED`
const CLAIM_SET = `status = 'running', attempt = t.attempt + 1, worker = $1, started_at = $4, lease_until = $4::bigint + $3, reason = NULL`
const EVERY_COLUMN = `t.id, t.status, t.priority, t.duration, t.run_at, t.wait_until, t.remaining, t.attempt, t.retry_count,
  t.parent, t."user", t.failed_dependency, t.dependencies, t.worker, t.lease_until, t.created_at, c.started_at, t.finished_at,
  t.args, t.kwargs, t.stdin, t.extra, t.result, t.error, t.spec, t.progress, t.usage, c.reason`
/** The claim variants, each a statement with parameters (worker, limit, lease, now). */
const CLAIMS = {
  top: `SELECT * FROM ${s}.claim_top($1, $2, $3, $4)`,
  notify: `WITH c AS (${READY_TOP}), claimed AS (UPDATE ${s}.tasks t SET ${CLAIM_SET} FROM c WHERE t.id = c.id RETURNING ${EVERY_COLUMN}),
    n AS (SELECT ${s}.notify_status(array_agg(id ORDER BY id), 'running') FROM claimed) SELECT claimed.* FROM claimed, n`,
  inline: `WITH c AS (${READY_TOP}) UPDATE ${s}.tasks t SET ${CLAIM_SET} FROM c WHERE t.id = c.id RETURNING ${EVERY_COLUMN}`,
  ids: `WITH c AS (${READY_TOP}) UPDATE ${s}.tasks t SET ${CLAIM_SET} FROM c WHERE t.id = c.id RETURNING t.id, t.attempt`,
}
/** The finish variants, each a statement with parameters (ids, attempts, texts, nows), or none. */
const BATCH = `FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::bigint[]) AS u(id, attempt, text, now)
    WHERE t.id = u.id AND t.status IN ('running', 'suspended') AND t.attempt = u.attempt`
const FINISHES = {
  none: null,
  success: `SELECT ${s}.finish_success($1, $2, $3, $4)`,
  bare: `UPDATE ${s}.tasks t SET status = 'success', result = u.text, error = NULL, finished_at = u.now, lease_until = NULL, wait_until = NULL ${BATCH}`,
}
const DONE = `WITH done AS (${FINISHES.bare} RETURNING t.id, u.text)`
const PROBE = `EXISTS (SELECT 1 FROM done, LATERAL (SELECT 1 FROM ${s}.deps d WHERE d.dependency = done.id LIMIT 1) l)`
FINISHES.returning = `${DONE} SELECT array_agg(id), array_agg(text) FROM done`
FINISHES.probe = `${DONE} SELECT ${PROBE}`
FINISHES.message = `${DONE} SELECT ${PROBE}, pg_notify('aque_claim_parts', 'task_status' || E'\\n' || json_build_object('ids', (SELECT array_agg(id) FROM done), 'status', 'success')::text)`
FINISHES.hot = `UPDATE ${s}.tasks t SET result = u.text, finished_at = u.now ${BATCH}`
const claimSql = CLAIMS[opts.claim]
const finishSql = FINISHES[opts.finish]
if (claimSql === undefined) throw new Error(`--claim must be one of ${Object.keys(CLAIMS).join(', ')}`)
if (finishSql === undefined) throw new Error(`--finish must be one of ${Object.keys(FINISHES).join(', ')}`)

const broker = new PostgresBroker(`${SERVER}?schema=${schema}`)
await broker.init()
const client = new pg.Client({ connectionString: SERVER, application_name: 'aque-claim-parts' })
try {
  await new Queue({ broker }).submitMany(Array.from({ length: Number(opts.tasks) }, () => ({ func: noop })))
  await client.connect()
  if (opts.fillfactor) {
    await client.query(`ALTER TABLE ${s}.tasks SET (fillfactor = ${Number(opts.fillfactor)})`)
    await client.query(`VACUUM FULL ${s}.tasks`)
  }
  await client.query(`VACUUM ANALYZE ${s}.tasks`)
  const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
  const cpu0 = processCpu(pid)
  let claimed = 0
  const start = performance.now()
  for (;;) {
    const now = Date.now()
    const { rows } = await client.query(claimSql, ['parts', Number(opts.limit), LEASE_MS, now])
    // claim_top answers "nothing claimed" with one row whose id is null.
    const got = rows.filter((r) => r.id !== null)
    if (got.length === 0) break
    claimed += got.length
    if (finishSql) {
      const texts = got.map(() => JSON.stringify(result))
      await client.query(finishSql, [literal(got.map((r) => r.id)), literal(got.map((r) => r.attempt)), literal(texts), literal(got.map(() => now))])
    }
  }
  const ms = performance.now() - start
  console.log(`claim ${opts.claim}, finish ${opts.finish}, ${opts.limit} per claim: ${claimed} tasks in ${ms.toFixed(0)} ms, ${Math.round((claimed / ms) * 1000)} tasks/s; server process CPU ${Math.round((processCpu(pid) - cpu0) * 1000)} ms`)
} finally {
  await client.end().catch(() => {})
  await broker.destroy()
  await broker.close()
}
