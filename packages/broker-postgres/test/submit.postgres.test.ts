/**
 * PostgreSQL only: `submit` reads its per-task arrays side by side in one pass (migration 9);
 * every column of every task of a batch must line up with its own prototype, whichever fields
 * are null, with dependencies inside the batch and outside it. A task submitted alone without
 * dependencies goes in one plain statement instead: same row, same messages.
 */
import { Queue, task } from '@aque/core'
import { describe, expect, it } from 'vitest'
import { brokersPerTest, sameSchema } from './helpers.js'

const noop = task('pg-submit.noop', () => null)

const broker = brokersPerTest()

describe('postgres submit', () => {
  it('a mixed batch stores each field on its own task, dependencies and readiness included', async () => {
    const b = await broker()
    const queue = new Queue({ broker: b })
    const [outside] = await queue.submitMany([{ func: noop }])
    const later = Date.now() + 3_600_000
    const batch = await queue.submitMany([
      { func: noop, args: [1], priority: 7, name: 'first' },
      { func: noop, args: ['two'], kwargs: { k: 2 }, runAt: new Date(later), duration: 2.5 },
      { func: noop, stdin: 'in', dependencies: [{ func: noop, args: [3], tag: 'x' }], user: 'someone' },
      { func: noop, dependencies: [outside?.id as number], priority: 1 },
    ])
    const ids = batch.map((f) => f.id)
    const got = await b.fetch(ids)
    const rows = ids.map((id) => got.get(id))
    // The nested prototype is created first (a dependency has the smaller id), then its dependent.
    expect(rows.map((r) => r?.name ?? null)).toEqual(['first', null, null, null])
    expect(rows.map((r) => r?.args)).toEqual([[1], ['two'], [], []])
    expect(rows.map((r) => r?.priority)).toEqual([7, 1000, 1000, 1])
    expect(rows[1]).toMatchObject({ kwargs: { k: 2 }, runAt: later, duration: 2.5 })
    expect(rows[2]).toMatchObject({ stdin: 'in', user: 'someone' })
    const nested = rows[2]?.dependencies?.[0] as number
    expect(nested).toBe((ids[2] as number) - 1)
    expect((await b.fetch([nested])).get(nested)).toMatchObject({ args: [3], extra: { tag: 'x' } })
    expect(rows[3]?.dependencies).toEqual([outside?.id])
    // Ready now: the first and the nested one (its dependent waits on it; the last waits on
    // `outside`; the second waits for its time).
    const claimed = await b.claim({ worker: 'w', limit: 10, leaseMs: 30_000 })
    expect(claimed.tasks.map((t) => t.id).sort((x, y) => x - y)).toEqual([outside?.id, ids[0], nested].sort((x, y) => (x as number) - (y as number)))
  })

  it('a lone task stores the same row as in a batch and announces it (pending, new_work) to other processes', async () => {
    const b = await broker()
    const other = await sameSchema(b)
    try {
      const pending: number[] = []
      let newWork = 0
      const offPending = other.on('task_status.pending', (payload) => pending.push(...(payload as { ids: number[] }).ids))
      const offWork = other.on('new_work', () => newWork++)
      const queue = new Queue({ broker: b })
      const later = Date.now() + 3_600_000
      const prototype = { func: noop, args: ['a\u0000b'], kwargs: { k: 1 }, priority: 3, duration: 1.5, runAt: new Date(later), stdin: 'in', user: 'someone', name: 'alone' }
      const alone = await queue.submitEx(prototype)
      const deadline = Date.now() + 5000
      while ((!pending.includes(alone.id) || newWork === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
      offPending()
      offWork()
      expect(pending).toEqual([alone.id])
      expect(newWork).toBe(1)
      const [inBatch] = await queue.submitMany([prototype, { func: noop }])
      const got = await b.fetch([alone.id, inBatch?.id as number])
      const { id: _a, createdAt: _ca, ...one } = got.get(alone.id) as Record<string, unknown>
      const { id: _b, createdAt: _cb, ...two } = got.get(inBatch?.id as number) as Record<string, unknown>
      expect(one).toEqual(two)
      expect(one).toMatchObject({ status: 'pending', args: ['a\u0000b'], runAt: later, priority: 3, name: 'alone' })
    } finally {
      await other.close()
    }
  })
})
