import { Queue, encode } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, eventually, runAll, uniqueToken } from './helpers.js'
import { add, record, runsOf } from './tasks.js'

/** Claims and leases, through the broker's own scheduling methods. */
export function leaseSuite({ t, broker, peer }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('claim and lease', () => {
    it('a claim takes ready tasks under a lease: running, attempt 1, worker and lease end stored', async () => {
      const queue = new Queue({ broker: broker() })
      const futures = await queue.submitMany([1, 2, 3].map((n) => ({ func: add, args: [n, n] })))
      const before = Date.now()
      const { tasks } = await broker().claim({ worker: 'w-claim', limit: 2, leaseMs: 30_000 })
      const after = Date.now()
      expect(tasks.map((task) => task.id)).toEqual(futures.slice(0, 2).map((f) => f.id))
      for (const task of tasks) {
        expect(task.status).toBe('running')
        expect(task.attempt).toBe(1)
        expect(task.worker).toBe('w-claim')
        expect(task.leaseUntil).toBeGreaterThanOrEqual(before + 30_000)
        expect(task.leaseUntil).toBeLessThanOrEqual(after + 30_000)
      }
      const stored = await broker().fetch([futures[0]?.id as number], ['status', 'worker', 'attempt'])
      expect(stored.get(futures[0]?.id as number)).toMatchObject({ status: 'running', worker: 'w-claim', attempt: 1 })
      // A claimed task is not handed out again while its lease holds.
      const other = await peer()
      const second = await other.claim({ worker: 'w-other', limit: 10, leaseMs: 30_000 })
      expect(second.tasks.map((task) => task.id)).toEqual([futures[2]?.id])
      expect((await other.claim({ worker: 'w-other', limit: 10, leaseMs: 30_000 })).tasks).toEqual([])
      expect(await broker().finish(tasks[0]?.id as number, 1, { status: 'success', result: encode(2) })).toBe(true)
      expect(await futures[0]?.result({ timeout: WAIT })).toBe(2)
    })

    it('a worker whose lease ran out loses the task to another and cannot record a result afterwards', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const future = await queue.submit(record, token, 'second worker')
      const { tasks } = await broker().claim({ worker: 'w-slow', limit: 1, leaseMs: 300 })
      const first = tasks[0]
      expect(first?.id).toBe(future.id)
      // Kept apart: a claimed record is the broker's to update (the memory broker hands out its own).
      const firstAttempt = first?.attempt as number
      // No heartbeat: once the lease is over, reaping puts the task back to pending.
      expect(await eventually(async () => (await broker().reapExpired()) > 0 || undefined, 'the expired lease to be reaped')).toBe(true)
      const back = await future.task()
      expect(back.status).toBe('pending')
      await runAll(await peer())
      expect(await future.result({ timeout: WAIT })).toBe('second worker')
      expect(runsOf(token)).toHaveLength(1)
      expect(await broker().finish(future.id, firstAttempt, { status: 'success', result: encode('stale') })).toBe(false)
      expect(await broker().finish(future.id, firstAttempt, { status: 'error', error: encode(new Error('stale')) })).toBe(false)
      expect(await broker().heartbeat('w-slow', [{ id: future.id, attempt: firstAttempt }], 300)).toEqual([future.id])
      const task = await future.task()
      expect(task.status).toBe('success')
      expect(task.result).toBe('second worker')
      expect(task.attempt).toBe(firstAttempt + 1)
    })

    it('a running task lost by reaping is claimed again with a higher attempt, and only that attempt may finish', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(add, 1, 2)
      const one = (await broker().claim({ worker: 'w-1', limit: 1, leaseMs: 200 })).tasks[0]
      const oneAttempt = one?.attempt as number
      await eventually(async () => (await broker().reapExpired()) > 0 || undefined, 'the expired lease to be reaped')
      const other = await peer()
      const two = (await other.claim({ worker: 'w-2', limit: 1, leaseMs: 30_000 })).tasks[0]
      expect(two?.id).toBe(future.id)
      expect(two?.attempt).toBe(oneAttempt + 1)
      expect(two?.worker).toBe('w-2')
      expect(await broker().finish(future.id, oneAttempt, { status: 'success', result: encode('stale') })).toBe(false)
      expect(await other.finish(future.id, two?.attempt as number, { status: 'success', result: encode(3) })).toBe(true)
      expect(await future.result({ timeout: WAIT })).toBe(3)
      // A second finish of the same run changes nothing.
      expect(await other.finish(future.id, two?.attempt as number, { status: 'success', result: encode('again') })).toBe(false)
      expect(await future.result({ timeout: WAIT })).toBe(3)
    })

    it('heartbeat keeps a lease alive', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(add, 2, 2)
      const claimed = (await broker().claim({ worker: 'w-beat', limit: 1, leaseMs: 500 })).tasks[0]
      const firstEnd = claimed?.leaseUntil as number
      expect(await broker().heartbeat('w-beat', [{ id: future.id, attempt: claimed?.attempt as number }], 60_000)).toEqual([])
      const renewed = (await broker().fetch([future.id], ['leaseUntil'])).get(future.id)?.leaseUntil as number
      expect(renewed).toBeGreaterThan(firstEnd)
      // Past the first lease's end, nothing is reaped: the renewed lease holds.
      await eventually(() => Date.now() > firstEnd + 100, 'the first lease to be over')
      expect(await broker().reapExpired()).toBe(0)
      expect(await future.status()).toBe('running')
      expect(await broker().finish(future.id, claimed?.attempt as number, { status: 'success', result: encode(4) })).toBe(true)
      expect(await future.result({ timeout: WAIT })).toBe(4)
    })

    it('heartbeat reports lost leases: wrong attempt, unknown task, completed task', async () => {
      const queue = new Queue({ broker: broker() })
      await queue.submitMany([1, 2, 3].map((n) => ({ func: add, args: [n, n] })))
      const { tasks } = await broker().claim({ worker: 'w-hb', limit: 3, leaseMs: 30_000 })
      expect(tasks).toHaveLength(3)
      const [held, wrong, done] = tasks.map((task) => ({ id: task.id, attempt: task.attempt }))
      if (!held || !wrong || !done) throw new Error('three tasks claimed')
      await broker().finish(done.id, done.attempt, { status: 'success', result: encode(4) })
      const lost = await broker().heartbeat(
        'w-hb',
        [held, { id: wrong.id, attempt: wrong.attempt + 5 }, done, { id: 999_999, attempt: 1 }],
        30_000,
      )
      expect([...lost].sort((x, y) => x - y)).toEqual([wrong.id, done.id, 999_999])
    })

    it('a claim with nothing ready reports nothing; a refused candidate stays pending for others', async () => {
      const queue = new Queue({ broker: broker() })
      expect((await broker().claim({ worker: 'w-none', limit: 5, leaseMs: 1000 })).tasks).toEqual([])
      const [big, small] = await queue.submitMany([
        { func: add, args: [1, 1], priority: 2000, cpus: 64 },
        { func: add, args: [2, 2] },
      ])
      const { tasks } = await broker().claim({ worker: 'w-small', limit: 5, leaseMs: 30_000, accept: (task) => (task.cpus ?? 0) <= 1 })
      expect(tasks.map((task) => task.id)).toEqual([small?.id])
      expect(await big?.status()).toBe('pending')
      const again = await broker().claim({ worker: 'w-big', limit: 5, leaseMs: 30_000 })
      expect(again.tasks.map((task) => task.id)).toEqual([big?.id])
    })
  })
}
