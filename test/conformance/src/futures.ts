import { AbortedError, Queue, TaskNotFoundError, TimeoutError, asCompleted, wait } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, runAll, uniqueToken, withWorker, within } from './helpers.js'
import { gate, gateStarted, openGate, square } from './tasks.js'

/** Futures on this broker: waiting with limits, wait() and asCompleted(). */
export function futuresSuite({ t, broker, peer }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('futures', () => {
    it('result() of a task that does not complete in time throws TimeoutError; an aborted wait throws AbortedError', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(square, 3)
      await expect(future.result({ timeout: 50 })).rejects.toBeInstanceOf(TimeoutError)
      const controller = new AbortController()
      const waiting = future.result({ signal: controller.signal })
      controller.abort()
      await expect(waiting).rejects.toBeInstanceOf(AbortedError)
      expect(await future.done()).toBe(false)
      await runAll(broker())
      expect(await future.done()).toBe(true)
      expect(await future.result({ timeout: WAIT })).toBe(9)
    })

    it('a future of an unknown task id fails with TaskNotFoundError', async () => {
      const queue = new Queue({ broker: broker() })
      const ghost = await queue.future(999_999)
      await expect(ghost.status()).rejects.toBeInstanceOf(TaskNotFoundError)
      await expect(ghost.result({ timeout: WAIT })).rejects.toBeInstanceOf(TaskNotFoundError)
    })

    it('wait() returns when the first completes or when all have; asCompleted() yields them as they complete', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const slow = await queue.submit(gate, token)
      const fast = await queue.submit(square, 4)
      try {
        await withWorker(await peer(), { concurrency: 2 }, async () => {
          await within(gateStarted(token), 'the gate task to start')
          const first = await wait([slow, fast], { returnWhen: 'FIRST_COMPLETED', timeout: WAIT })
          expect(first.done.map((f) => f.id)).toEqual([fast.id])
          expect(first.pending.map((f) => f.id)).toEqual([slow.id])
          const completed = asCompleted([slow, fast], { timeout: WAIT })[Symbol.asyncIterator]()
          // The slow one cannot complete before the gate opens: the fast one comes first.
          expect((await completed.next()).value?.id).toBe(fast.id)
          const all = wait([slow, fast], { timeout: WAIT })
          openGate(token)
          expect((await completed.next()).value?.id).toBe(slow.id)
          expect((await completed.next()).done).toBe(true)
          expect((await all).pending).toEqual([])
        })
      } finally {
        openGate(token)
      }
      expect(await slow.result({ timeout: WAIT })).toBe('opened')
    })
  })
}
