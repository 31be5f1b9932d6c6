import { DependencyFailedError, Queue, encode } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, runAll, uniqueToken } from './helpers.js'
import { breakToken, failWhileBroken, flaky, record, repair, runsOf } from './tasks.js'

/** Automatic retries (`retries`, `retryDelay`) and explicit ones (`broker.retry`). */
export function retrySuite({ t, broker, peer }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('retry', () => {
    it('a task failing twice with retries: 2 succeeds on its third run', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const future = await queue.submitEx({ func: flaky, args: [token, 2], retries: 2, retryDelay: 10 })
      await runAll(broker())
      expect(await future.result({ timeout: WAIT })).toBe(3)
      const task = await future.task()
      expect(task.retryCount).toBe(2)
      expect(task.attempt).toBe(3)
      expect(task.error).toBeNull()
      const runs = runsOf(token)
      expect(runs.map((r) => r.id)).toEqual([future.id, future.id, future.id])
      // Backoff from retryDelay, doubling: never sooner than 10 ms, then 20 ms, after a failure.
      const [first, second, third] = runs.map((r) => r.time) as [number, number, number]
      expect(second - first).toBeGreaterThanOrEqual(10)
      expect(third - second).toBeGreaterThanOrEqual(20)
    })

    it('a task waiting for its retry is not claimed before its time, and claim reports when it will be', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submitEx({ func: flaky, args: [uniqueToken(), 1], retries: 1, retryDelay: 60_000 })
      const claimed = (await broker().claim({ worker: 'w-retry', limit: 1, leaseMs: 30_000 })).tasks[0]
      expect(claimed?.id).toBe(future.id)
      const retryAt = Date.now() + 60_000
      expect(await broker().finish(future.id, claimed?.attempt as number, { status: 'error', error: encode(new Error('first')), retryAt })).toBe(true)
      const task = await future.task()
      expect(task.status).toBe('pending')
      expect(task.retryCount).toBe(1)
      const other = await peer()
      const again = await other.claim({ worker: 'w-retry-2', limit: 1, leaseMs: 30_000 })
      expect(again.tasks).toEqual([])
      expect(again.nextRunAt).toBe(retryAt)
    })

    it('a task that exhausts its retries ends in error with its last error', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const future = await queue.submitEx({ func: flaky, args: [token, 5], retries: 1, retryDelay: 10 })
      await runAll(broker())
      const err = await future.exception({ timeout: WAIT })
      expect(err).toBeInstanceOf(Error)
      expect(err?.message).toBe('planned failure 2 of 5')
      const task = await future.task()
      expect(task.status).toBe('error')
      expect(task.retryCount).toBe(1)
      expect(runsOf(token)).toHaveLength(2)
    })

    it('retry of a failed task re-runs it under the same id, and its dependents that failed because of it', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const after = uniqueToken()
      breakToken(token)
      const failing = await queue.submit(failWhileBroken, token)
      const middle = await queue.submitEx({ func: record, args: [after, 'middle'], dependencies: [failing] })
      const top = await queue.submitEx({ func: record, args: [after, 'top'], dependencies: [middle] })
      await runAll(broker())
      expect(await top.exception({ timeout: WAIT })).toBeInstanceOf(DependencyFailedError)
      repair(token)
      await (await peer()).retry([failing.id])
      for (const f of [failing, middle, top]) expect(await f.status()).toBe('pending')
      const retried = await failing.task()
      expect(retried.error).toBeNull()
      expect(retried.result).toBeNull()
      await runAll(broker())
      expect(await failing.result({ timeout: WAIT })).toBe(2)
      expect(await top.result({ timeout: WAIT })).toBe('top')
      expect(runsOf(after).map((r) => r.label)).toEqual(['middle', 'top'])
      expect((await middle.task()).failedDependency).toBeNull()
    })

    it('a retried task whose dependent also depends on another failed task leaves that dependent failed, naming the other', async () => {
      const queue = new Queue({ broker: broker() })
      const one = uniqueToken()
      const two = uniqueToken()
      breakToken(one)
      breakToken(two)
      const a = await queue.submit(failWhileBroken, one)
      const b = await queue.submit(failWhileBroken, two)
      await runAll(broker())
      const both = await queue.submitEx({ func: record, args: [uniqueToken(), 'both'], dependencies: [a, b] })
      expect(await both.status()).toBe('error')
      expect((await both.task()).failedDependency).toBe(a.id)
      repair(one)
      await broker().retry([a.id])
      await runAll(broker())
      expect(await a.status()).toBe('success')
      expect(await both.status()).toBe('error')
      const task = await both.task()
      expect(task.failedDependency).toBe(b.id)
      expect((task.error as DependencyFailedError).taskId).toBe(b.id)
    })

    it('retry leaves a success alone, unless includeSuccess', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const future = await queue.submit(record, token, 'once')
      await runAll(broker())
      await broker().retry([future.id])
      expect(await future.status()).toBe('success')
      expect(await runAll(broker())).toBe(0)
      expect(runsOf(token)).toHaveLength(1)
      await broker().retry([future.id], { includeSuccess: true })
      expect(await future.status()).toBe('pending')
      await runAll(broker())
      expect(await future.result({ timeout: WAIT })).toBe('once')
      expect(runsOf(token).map((r) => r.id)).toEqual([future.id, future.id])
    })

    it('a killed task retried runs after all', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const future = await queue.submit(record, token, 'revived')
      await future.cancel()
      expect(await future.status()).toBe('killed')
      await broker().retry([future.id])
      await runAll(broker())
      expect(await future.result({ timeout: WAIT })).toBe('revived')
    })
  })
}
