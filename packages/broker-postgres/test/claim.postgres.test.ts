/**
 * PostgreSQL only: what a claim reports when it gets nothing, with rows locked by another
 * transaction (a concurrent claimer) and tasks whose time has just come, and the hand-back of
 * tasks claimed at once that the worker refuses. These depend on row locks and on the one
 * round trip claim, which no other broker has.
 */
import { Queue, encode, task } from '@aque/core'
import { describe, expect, it } from 'vitest'
import { brokersPerTest, sqlClient } from './helpers.js'

const noop = task('pg-claim.noop', () => null)

const broker = brokersPerTest()

describe('postgres claim', () => {
  it('a claim that gets nothing because the ready task is locked by another transaction reports now as nextRunAt', async () => {
    const b = await broker()
    const f = await new Queue({ broker: b }).submit(noop)
    const client = await sqlClient()
    try {
      await client.query('BEGIN')
      await client.query(`SELECT id FROM "${b.options.schema}".tasks WHERE id = $1 FOR UPDATE`, [f.id])
      const now = Date.now()
      for (const accept of [undefined, () => true]) {
        const result = await b.claim({ worker: 'w', limit: 4, leaseMs: 30_000, now, accept })
        expect(result.tasks).toEqual([])
        expect(result.nextRunAt).toBe(now)
      }
    } finally {
      await client.query('ROLLBACK')
      await client.end()
    }
    // Released: the next claim gets it.
    expect((await b.claim({ worker: 'w', limit: 4, leaseMs: 30_000 })).tasks.map((t) => t.id)).toEqual([f.id])
  })

  it('a task due for its retry is claimed by the first claim at or after its time, and reported as due before it', async () => {
    const b = await broker()
    const f = await new Queue({ broker: b }).submitEx({ func: noop, retries: 1 })
    const first = (await b.claim({ worker: 'w', limit: 1, leaseMs: 30_000 })).tasks[0]
    const retryAt = Date.now() + 1000
    expect(await b.finish(f.id, first?.attempt as number, { status: 'error', error: encode(new Error('once')), retryAt })).toBe(true)
    const early = await b.claim({ worker: 'w', limit: 1, leaseMs: 30_000, now: retryAt - 1 })
    expect(early).toEqual({ tasks: [], nextRunAt: retryAt })
    // Locked by someone else exactly when it becomes due: nothing claimed, but due now.
    const client = await sqlClient()
    try {
      await client.query('BEGIN')
      await client.query(`SELECT id FROM "${b.options.schema}".tasks WHERE id = $1 FOR UPDATE`, [f.id])
      const locked = await b.claim({ worker: 'w', limit: 1, leaseMs: 30_000, now: retryAt })
      expect(locked).toEqual({ tasks: [], nextRunAt: retryAt })
    } finally {
      await client.query('ROLLBACK')
      await client.end()
    }
    const due = await b.claim({ worker: 'w', limit: 1, leaseMs: 30_000, now: retryAt })
    expect(due.tasks.map((t) => [t.id, t.attempt])).toEqual([[f.id, 2]])
  })

  it('tasks the worker refuses are handed back pending, as they were, and claimed by the next worker that accepts them', async () => {
    const b = await broker()
    const queue = new Queue({ broker: b })
    const [a, c] = await queue.submitMany([{ func: noop }, { func: noop }])
    await b.setReason(c?.id as number, 'needs a GPU')
    const mine = await b.claim({ worker: 'picky', limit: 2, leaseMs: 30_000, accept: (t) => t.id === a?.id })
    expect(mine.tasks.map((t) => t.id)).toEqual([a?.id])
    const back = (await b.fetch([c?.id as number])).get(c?.id as number)
    expect(back).toMatchObject({ status: 'pending', attempt: 0, worker: null, startedAt: null, leaseUntil: null, reason: 'needs a GPU' })
    const other = await b.claim({ worker: 'other', limit: 2, leaseMs: 30_000, accept: () => true })
    expect(other.tasks.map((t) => [t.id, t.attempt, t.worker])).toEqual([[c?.id, 1, 'other']])
  })

  it('finishes sent together are recorded as one batch: successes release dependents, a failure fails its own, stale runs are refused', async () => {
    const b = await broker()
    const queue = new Queue({ broker: b })
    const [a, c, d] = await queue.submitMany([{ func: noop }, { func: noop }, { func: noop }])
    const [afterA, afterAll, afterD] = await queue.submitMany([
      { func: noop, dependencies: [a as never] },
      { func: noop, dependencies: [a as never, c as never] },
      { func: noop, dependencies: [d as never] },
    ])
    const claimed = (await b.claim({ worker: 'w', limit: 3, leaseMs: 30_000 })).tasks
    const attempt = (id: number | undefined) => claimed.find((t) => t.id === id)?.attempt as number
    // The first goes out alone; the three after it wait for it and go out together.
    const applied = await Promise.all([
      b.finish(c?.id as number, attempt(c?.id) + 1, { status: 'success', result: encode(3) }),
      b.finish(a?.id as number, attempt(a?.id), { status: 'success', result: encode(1) }),
      b.finish(c?.id as number, attempt(c?.id), { status: 'success', result: encode(2) }),
      b.finish(d?.id as number, attempt(d?.id), { status: 'error', error: encode(new Error('d')) }),
    ])
    expect(applied).toEqual([false, true, true, true])
    const after = await b.fetch([c?.id, afterA?.id, afterAll?.id, afterD?.id] as number[], ['status', 'result', 'failedDependency'])
    expect(after.get(c?.id as number)?.result).toBe(2)
    expect([afterA, afterAll, afterD].map((f) => after.get(f?.id as number)?.status)).toEqual(['pending', 'pending', 'error'])
    expect(after.get(afterD?.id as number)?.failedDependency).toBe(d?.id)
    const next = await b.claim({ worker: 'w', limit: 5, leaseMs: 30_000 })
    expect(next.tasks.map((t) => t.id).sort()).toEqual([afterA?.id, afterAll?.id].sort())
  })

  it('a reason stored late, once the task is running, does not stick to it', async () => {
    const b = await broker()
    const f = await new Queue({ broker: b }).submit(noop)
    await b.claim({ worker: 'w', limit: 1, leaseMs: 30_000 })
    await b.setReason(f.id, 'too late')
    expect((await b.fetch([f.id], ['reason'])).get(f.id)?.reason).toBeNull()
  })

  it('a claim made while there is a backlog runs as two statements that together take the top of the ready index and carry every finish', async () => {
    const b = await broker()
    const queue = new Queue({ broker: b })
    const futures = await queue.submitMany(Array.from({ length: 600 }, (_, i) => ({ func: noop, priority: i % 3 })))
    // Dispatch order: priority first (higher first), then id.
    const priority = new Map(futures.map((f, i) => [f.id, i % 3]))
    const order = [...priority.keys()].sort((x, y) => (priority.get(y) as number) - (priority.get(x) as number) || x - y)
    const pool = Reflect.get(b, 'pool') as { query: (config: unknown, values?: unknown) => Promise<unknown> }
    const query = pool.query.bind(pool)
    let claimStatements = 0
    pool.query = (config, values) => {
      if (typeof config === 'object' && /claim-top$/.test(String((config as { name?: string }).name))) claimStatements++
      return query(config, values)
    }
    const first = await b.claim({ worker: 'w', limit: 200, leaseMs: 30_000 })
    expect(claimStatements).toBe(1) // no backlog seen yet: one statement
    expect(first.tasks.map((t) => t.id)).toEqual(order.slice(0, 200))
    // Finishes made in the same turn as the claim ride it, half in each statement.
    const finished = first.tasks.map((t) => b.finish(t.id, t.attempt, { status: 'success', result: encode(t.id) }))
    const second = await b.claim({ worker: 'w', limit: 200, leaseMs: 30_000 })
    expect(claimStatements).toBe(3)
    expect(second.tasks.map((t) => t.id)).toEqual(order.slice(200, 400))
    expect(second.tasks.every((t) => t.status === 'running' && t.attempt === 1)).toBe(true)
    expect(await Promise.all(finished)).toEqual(first.tasks.map(() => true))
    const stored = await b.fetch(first.tasks.map((t) => t.id), ['status', 'result'])
    expect(first.tasks.every((t) => stored.get(t.id)?.status === 'success' && stored.get(t.id)?.result === t.id)).toBe(true)
    expect((await b.claim({ worker: 'w', limit: 500, leaseMs: 30_000 })).tasks.map((t) => t.id)).toEqual(order.slice(400))
    expect(claimStatements).toBe(5)
    // The claim after one that found a backlog is split too; one after a claim that found none is not.
    expect(await b.claim({ worker: 'w', limit: 500, leaseMs: 30_000 })).toEqual({ tasks: [], nextRunAt: null })
    expect(claimStatements).toBe(7)
    expect(await b.claim({ worker: 'w', limit: 500, leaseMs: 30_000 })).toEqual({ tasks: [], nextRunAt: null })
    expect(claimStatements).toBe(8)
  })
})
