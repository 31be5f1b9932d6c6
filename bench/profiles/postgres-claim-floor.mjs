/**
 * The fastest aque's own PostgreSQL statements can drain, with no worker around them: 10,000
 * no-op tasks submitted through the broker, then claimed by `claim_top` and finished by
 * `finish_success` riding the next claim, as the broker does, on `--lanes` connections at once
 * (each its own loop), `--limit` tasks per claim. What the server allows per connection, to
 * compare with the bench's drain (the same statements with a real worker) and with its peers.
 *
 * With `--bare`, the statements are the least that keeping a task's state takes, and less
 * than the contract asks: one statement per round trip that updates the previous batch to
 * success (a bare UPDATE fenced by attempt) and claims the next (lock and update, returning
 * id and attempt only), without the status messages, the release of dependents, the promotion
 * of delayed tasks or the function around them. Two row versions per task and nothing more:
 * what any design that keeps states and results in the task row pays at the least.
 *
 *   node bench/profiles/postgres-claim-floor.mjs [--lanes 1] [--limit 512] [--tasks 10000] [--bare]
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { PostgresBroker } from '@aque/broker-postgres'
import { Queue, encode, task } from '@aque/core'
import pg from 'pg'

const { values: opts } = parseArgs({ options: { lanes: { type: 'string', default: '1' }, limit: { type: 'string', default: '512' }, tasks: { type: 'string', default: '10000' }, bare: { type: 'boolean', default: false } } })
const SERVER = 'postgres://postgres@127.0.0.1:5432/test'
const noop = task('bench-noop', () => {})
const schema = `aque_floor_${randomBytes(6).toString('hex')}`
const s = `"${schema}"`
const broker = new PostgresBroker(`${SERVER}?schema=${schema}`)
await broker.init()
await new Queue({ broker }).submitMany(Array.from({ length: Number(opts.tasks) }, () => ({ func: noop })))
const result = JSON.stringify(encode(undefined, 'result'))
const literal = (values) => `{${values.join(',')}}`

/** --bare: finish the previous batch and claim the next in one statement, nothing else ($1–$4 the finishes, $5–$8 the claim; a data-modifying WITH runs to completion whether read or not). */
const BARE = `WITH f AS (
    UPDATE ${s}.tasks t SET status = 'success', result = u.text, error = NULL, finished_at = u.now, lease_until = NULL, wait_until = NULL
    FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::bigint[]) AS u(id, attempt, text, now)
    WHERE t.id = u.id AND t.status IN ('running', 'suspended') AND t.attempt = u.attempt
    RETURNING t.id
  ), c AS (
    SELECT id FROM ${s}.tasks WHERE status = 'pending' AND remaining = 0 AND wait_until IS NULL
    ORDER BY priority DESC, duration DESC, id LIMIT $6 FOR UPDATE SKIP LOCKED
  )
  UPDATE ${s}.tasks t SET status = 'running', attempt = t.attempt + 1, worker = $5, started_at = $8, lease_until = $8::bigint + $7, reason = NULL
  FROM c WHERE t.id = c.id
  RETURNING t.id, t.attempt`

/** One connection claiming and finishing until nothing is left; returns the tasks it claimed. */
async function lane() {
  const client = new pg.Client({ connectionString: SERVER })
  await client.connect()
  // As the broker's functions run: by the indexes, and without waiting for the WAL flush.
  if (opts.bare) await client.query('SET enable_seqscan = off; SET synchronous_commit = off')
  let claimed = 0
  let previous = []
  try {
    for (;;) {
      const now = Date.now()
      const claim = [`w`, Number(opts.limit), 60_000, now]
      const { rows } = opts.bare
        ? await client.query(BARE, [literal(previous.map((r) => r.id)), literal(previous.map((r) => r.attempt)), literal(previous.map(() => result)), literal(previous.map(() => now)), ...claim])
        : previous.length === 0
          ? await client.query(`SELECT * FROM ${s}.claim_top($1, $2, $3, $4)`, claim)
          : await client.query(
              `WITH f AS (SELECT ${s}.finish_success($1::bigint[], $2::integer[], $3::text[], $4::bigint[]) AS applied)
               SELECT c.* FROM f, LATERAL ${s}.claim_top($5::text, $6::integer, $7::bigint, $8::bigint + 0 * cardinality(f.applied)) c`,
              [literal(previous.map((r) => r.id)), literal(previous.map((r) => r.attempt)), literal(previous.map(() => result)), literal(previous.map(() => now)), ...claim],
            )
      previous = rows.filter((r) => r.id !== null)
      claimed += previous.length
      if (previous.length === 0) return claimed
    }
  } finally {
    await client.end()
  }
}

try {
  const t0 = performance.now()
  const counts = await Promise.all(Array.from({ length: Number(opts.lanes) }, lane))
  const ms = performance.now() - t0
  const n = counts.reduce((a, b) => a + b, 0)
  console.log(`${n} tasks claimed and finished${opts.bare ? ' (bare)' : ''} on ${opts.lanes} connection(s), ${opts.limit} per claim: ${Math.round(ms)} ms, ${Math.round((n * 1000) / ms)} tasks/s`)
} finally {
  await broker.destroy()
  await broker.close()
}
