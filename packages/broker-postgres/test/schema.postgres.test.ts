/**
 * PostgreSQL only: the schema itself. Migrations (concurrent init), destroy's reach, the
 * planner's choice of the readiness index with a large backlog after ANALYZE, and failure
 * propagation as one recursive statement. These look at SQL objects no other broker has.
 */
import { Queue, type TaskPrototype, dependencyFailedText, encode, task } from '@aque/core'
import { afterEach, describe, expect, it } from 'vitest'
import { PostgresBroker } from '../src/index.js'
import { SERVER, freshBroker, randomSchema, sqlClient } from './helpers.js'

const noop = task('pg-schema.noop', () => null)
const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})
function owned(broker: PostgresBroker): PostgresBroker {
  cleanup.push(async () => {
    await broker.destroy()
    await broker.close()
  })
  return broker
}

describe('postgres schema', () => {
  it('two brokers running init() at once on a new schema both succeed and apply each migration once', async () => {
    const schema = randomSchema()
    const a = owned(new PostgresBroker(`${SERVER}?schema=${schema}`))
    const b = new PostgresBroker(`${SERVER}?schema=${schema}`)
    cleanup.push(() => b.close())
    await Promise.all([a.init(), b.init(), a.init()])
    const client = await sqlClient()
    try {
      const { rows } = await client.query(`SELECT id, count(*)::int AS n FROM "${schema}".migrations GROUP BY id`)
      expect(rows.length).toBeGreaterThan(0)
      for (const r of rows) expect(r.n).toBe(1)
    } finally {
      await client.end()
    }
    // Both work on the same tasks.
    const f = await new Queue({ broker: a }).submit(noop)
    expect((await b.fetch([f.id], ['status'])).get(f.id)?.status).toBe('pending')
  })

  it('destroy() drops only its own schema', async () => {
    const mine = await freshBroker()
    const other = owned(await freshBroker())
    const client = await sqlClient()
    const bystander = randomSchema('bystander')
    try {
      await client.query(`CREATE SCHEMA ${bystander}; CREATE TABLE ${bystander}.keep (x int); INSERT INTO ${bystander}.keep VALUES (1)`)
      await new Queue({ broker: other }).submit(noop)
      await mine.destroy()
      await mine.close()
      const { rows } = await client.query('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1)', [[mine.options.schema, other.options.schema, bystander]])
      expect(rows.map((r) => r.nspname).sort()).toEqual([other.options.schema, bystander].sort())
      expect((await client.query(`SELECT x FROM ${bystander}.keep`)).rows).toEqual([{ x: 1 }])
      expect((await other.counts()).pending).toBe(1)
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${bystander} CASCADE`)
      await client.end()
    }
  })

  it('claims read the readiness index, even after ANALYZE with 100,000 waiting tasks', async () => {
    const broker = owned(await freshBroker())
    const queue = new Queue({ broker })
    const blocker = await queue.submit(noop)
    const s = `"${broker.options.schema}"`
    const client = await sqlClient()
    try {
      // 100,000 tasks waiting on the blocker, written directly for speed (same shape as submit's).
      await client.query(
        `INSERT INTO ${s}.tasks (status, priority, duration, remaining, dependencies, created_at, args, spec)
         SELECT 'pending', 1000, 0, 1, ARRAY[$1::bigint], 0, '[]', '{}' FROM generate_series(1, 100000)`,
        [blocker.id],
      )
      await client.query(`INSERT INTO ${s}.deps (dependency, dependent) SELECT $1, id FROM ${s}.tasks WHERE id <> $1`, [blocker.id])
      await client.query(`ANALYZE ${s}.tasks`)
      await client.query(`ANALYZE ${s}.deps`)
      const plan = await client.query(
        `EXPLAIN SELECT id FROM ${s}.tasks WHERE status = 'pending' AND remaining = 0 AND wait_until IS NULL
         ORDER BY priority DESC, duration DESC, id LIMIT 32 FOR UPDATE SKIP LOCKED`,
      )
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n')
      expect(text).toContain('tasks_ready')
      expect(text).not.toMatch(/Seq Scan/)
      // The claim function runs this query; through the broker it finds the one ready task.
      const { tasks } = await broker.claim({ worker: 'w', limit: 32, leaseMs: 30_000 })
      expect(tasks.map((t) => t.id)).toEqual([blocker.id])
    } finally {
      await client.end()
    }
  }, 60_000)

  it('a claim writes the new version of a task row in its own page (fillfactor 50)', async () => {
    const broker = owned(await freshBroker())
    await new Queue({ broker }).submitMany(Array.from({ length: 200 }, () => ({ func: noop }) as TaskPrototype))
    const s = `"${broker.options.schema}"`
    const client = await sqlClient()
    try {
      const pages = async () => new Map((await client.query<{ id: number; page: number }>(`SELECT id, (ctid::text::point)[0] AS page FROM ${s}.tasks`)).rows.map((r) => [r.id, r.page]))
      const before = await pages()
      const { tasks } = await broker.claim({ worker: 'w', limit: 200, leaseMs: 30_000 })
      expect(tasks).toHaveLength(200)
      const after = await pages()
      // With full pages (fillfactor 100) none stays: every claimed version goes to the table's end.
      const stayed = [...before].filter(([id, page]) => after.get(id) === page).length
      expect(stayed).toBeGreaterThanOrEqual(160)
    } finally {
      await client.end()
    }
  })

  it('a failure reaches every dependent of a 3,000-deep chain in one recursive statement', async () => {
    const broker = owned(await freshBroker())
    const queue = new Queue({ broker })
    const depth = 3000
    const futures = await queue.submitMany(chain(depth + 1))
    const root = futures[0]?.id as number
    const last = futures[depth]?.id as number
    // The statement the broker runs when a task fails, called once by hand.
    const s = `"${broker.options.schema}"`
    const client = await sqlClient()
    try {
      await client.query(`UPDATE ${s}.tasks SET status = 'error' WHERE id = $1`, [root])
      const { rows } = await client.query(`SELECT cardinality(${s}.fail_dependents($1, $2, $3)) AS n`, [root, dependencyFailedText(root, 'error'), Date.now()])
      expect(rows[0].n).toBe(depth)
    } finally {
      await client.end()
    }
    const stored = (await broker.fetch([last], ['status', 'error', 'failedDependency'])).get(last)
    expect(stored).toMatchObject({ status: 'error', failedDependency: root })
    expect((stored?.error as Error | undefined)?.name).toBe('DependencyFailedError')
  }, 60_000)

  it('finish() with an error fails a 500-deep chain of dependents', async () => {
    const broker = owned(await freshBroker())
    const futures = await new Queue({ broker }).submitMany(chain(501))
    const { tasks } = await broker.claim({ worker: 'w', limit: 5, leaseMs: 30_000 })
    expect(tasks.map((t) => t.id)).toEqual([futures[0]?.id])
    expect(await broker.finish(tasks[0]?.id as number, tasks[0]?.attempt as number, { status: 'error', error: encode(new Error('boom')) })).toBe(true)
    expect((await broker.counts()).error).toBe(501)
  })
})

/** Prototypes of a chain: each depends on the one before (nested, so one batch in order). */
function chain(n: number): TaskPrototype[] {
  const out: TaskPrototype[] = []
  for (let i = 0; i < n; i++) out.push({ func: noop, dependencies: i === 0 ? [] : [out[i - 1] as TaskPrototype] })
  return out
}
