/**
 * The least server CPU a task costs on this PostgreSQL when a claim writes its row and so does
 * its end, whatever the broker around it does: a bare tasks table with aque's readiness and
 * lease indexes, claimed 128 at a time (SELECT … FOR UPDATE SKIP LOCKED, then UPDATE), each
 * batch then ended by an UPDATE (as aque keeps the row and its result) or by a DELETE (as
 * Graphile Worker does). Server CPU from /proc of the connection's server process.
 *
 *   node bench/profiles/postgres-write-floor.mjs [--tasks 20000]
 */
import { parseArgs } from 'node:util'
import pg from 'pg'
import { processCpu } from '../lib/proc-cpu.mjs'

const { values: opts } = parseArgs({ options: { tasks: { type: 'string', default: '20000' } } })
const N = Number(opts.tasks)
const schema = `aque_floor_${process.pid}`
const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' })
await client.connect()
const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid
/** CPU seconds of the server process (10 ms ticks). */
const serverCpu = () => processCpu(pid)

await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`)
await client.query(`CREATE TABLE ${schema}.tasks (
  id bigserial PRIMARY KEY, status text NOT NULL, priority integer NOT NULL DEFAULT 0, duration float8 NOT NULL DEFAULT 0,
  remaining integer NOT NULL DEFAULT 0, wait_until bigint, attempt integer NOT NULL DEFAULT 0, worker text,
  started_at bigint, lease_until bigint, finished_at bigint, result text,
  args text NOT NULL DEFAULT '[]', created_at bigint NOT NULL DEFAULT 0, spec text NOT NULL DEFAULT '{"func":"bench-noop"}')`)
await client.query(`CREATE INDEX ON ${schema}.tasks (priority DESC, duration DESC, id) WHERE status = 'pending' AND remaining = 0 AND wait_until IS NULL`)
await client.query(`CREATE INDEX ON ${schema}.tasks (lease_until) WHERE status IN ('running', 'suspended')`)

try {
  for (const end of ['update', 'delete', 'update', 'delete']) {
    await client.query(`TRUNCATE ${schema}.tasks`)
    await client.query(`INSERT INTO ${schema}.tasks (status) SELECT 'pending' FROM generate_series(1, ${N})`)
    await client.query(`VACUUM ANALYZE ${schema}.tasks`)
    const cpu0 = serverCpu()
    let n = 0
    for (;;) {
      const { rows } = await client.query(
        `WITH c AS (SELECT id FROM ${schema}.tasks WHERE status = 'pending' AND remaining = 0 AND wait_until IS NULL
                    ORDER BY priority DESC, duration DESC, id LIMIT 128 FOR UPDATE SKIP LOCKED)
         UPDATE ${schema}.tasks t SET status = 'running', attempt = t.attempt + 1, worker = 'w', started_at = 1, lease_until = 2
         FROM c WHERE t.id = c.id RETURNING t.id`,
      )
      if (rows.length === 0) break
      n += rows.length
      const ids = rows.map((r) => r.id)
      if (end === 'delete') await client.query(`DELETE FROM ${schema}.tasks WHERE id = ANY($1)`, [ids])
      else await client.query(`UPDATE ${schema}.tasks SET status = 'success', result = 'null', finished_at = 3, lease_until = NULL WHERE id = ANY($1)`, [ids])
    }
    console.log(`claim + ${end}: ${(((serverCpu() - cpu0) * 1e6) / n).toFixed(1)} µs of server CPU per task (${n} tasks)`)
  }
} finally {
  await client.query(`DROP SCHEMA ${schema} CASCADE`)
  await client.end()
}
