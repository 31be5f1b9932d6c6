import { DependencyFailedError, Queue, type TaskPrototype } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, runAll, uniqueToken, within } from './helpers.js'
import { add, failWhileBroken, breakToken, record, runsOf, square, throwTypeError } from './tasks.js'

/** The order tasks run in, by label, on one worker running one task at a time. */
function order(token: string): unknown[] {
  return runsOf(token).map((r) => r.label)
}

/** Dependencies and order: readiness, dispatch order, failure propagation, atomic batches. */
export function graphSuite({ t, broker, peer }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('graph', () => {
    it('ready tasks run by priority (higher first), then duration hint (longer first), then lower id', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const r = (label: string, extra: Partial<TaskPrototype> = {}): TaskPrototype => ({ func: record, args: [token, label], ...extra })
      await queue.submitMany([
        r('low'),
        r('low-long', { duration: 5 }),
        r('high', { priority: 2000 }),
        r('low-2'),
        r('lowest', { priority: 1 }),
        r('high-longer', { priority: 2000, duration: 10 }),
        r('low-long-2', { duration: 5 }),
      ])
      await runAll(broker(), { concurrency: 1 })
      expect(order(token)).toEqual(['high-longer', 'high', 'low-long', 'low-long-2', 'low', 'low-2', 'lowest'])
    })

    it('a branch runs its dependencies first: b, c, then a', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      await queue.submitEx({
        func: record,
        args: [token, 'a'],
        dependencies: [
          { func: record, args: [token, 'b'] },
          { func: record, args: [token, 'c'] },
        ],
      })
      await runAll(broker(), { concurrency: 1 })
      expect(order(token)).toEqual(['b', 'c', 'a'])
    })

    it('a diamond runs d, b, c, then a', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const d: TaskPrototype = { func: record, args: [token, 'd'] }
      await queue.submitEx({
        func: record,
        args: [token, 'a'],
        dependencies: [
          { func: record, args: [token, 'b'], dependencies: [d] },
          { func: record, args: [token, 'c'], dependencies: [d] },
        ],
      })
      await runAll(broker(), { concurrency: 1 })
      expect(order(token)).toEqual(['d', 'b', 'c', 'a'])
    })

    it('a task waits for a dependency submitted earlier that has not run yet', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const first = await queue.submitEx({ func: record, args: [token, 'first'], priority: 1 })
      const second = await queue.submitEx({ func: record, args: [token, 'second'], priority: 5000, dependencies: [first] })
      await runAll(broker(), { concurrency: 4 })
      expect(order(token)).toEqual(['first', 'second'])
      expect(await second.result({ timeout: WAIT })).toBe('second')
    })

    it('a failed dependency fails its transitive dependents with DependencyFailedError naming it', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const failing = await queue.submit(throwTypeError)
      const middle = await queue.submitEx({ func: record, args: [token, 'middle'], dependencies: [failing] })
      const top = await queue.submitEx({ func: record, args: [token, 'top'], dependencies: [middle, { func: square, args: [2] }] })
      const unrelated = await queue.submit(square, 3)
      await runAll(broker())
      expect(await failing.status()).toBe('error')
      for (const dependent of [middle, top]) {
        const task = await dependent.task()
        expect(task.status).toBe('error')
        expect(task.failedDependency).toBe(failing.id)
        expect(task.error).toBeInstanceOf(DependencyFailedError)
        expect((task.error as DependencyFailedError).taskId).toBe(failing.id)
        expect((task.error as DependencyFailedError).code).toBe('AQUE_DEPENDENCY_FAILED')
        await expect(dependent.result({ timeout: WAIT })).rejects.toBeInstanceOf(DependencyFailedError)
      }
      expect(order(token)).toEqual([])
      expect(await unrelated.result({ timeout: WAIT })).toBe(9)
    })

    it('a dependency already failed at submit time fails the new task at once', async () => {
      const queue = new Queue({ broker: broker() })
      const failing = await queue.submit(throwTypeError)
      await runAll(broker())
      expect(await failing.status()).toBe('error')
      const late = await queue.submitEx({ func: square, args: [2], dependencies: [failing, { func: square, args: [3] }] })
      const err = await late.exception({ timeout: WAIT })
      expect(err).toBeInstanceOf(DependencyFailedError)
      expect((err as DependencyFailedError).taskId).toBe(failing.id)
      const task = await late.task()
      expect(task.status).toBe('error')
      expect(task.failedDependency).toBe(failing.id)
    })

    it('map-reduce on the broker: reduce over 4 squares gives 30, or 40 from an initial 10', async () => {
      const queue = new Queue({ broker: broker() })
      const squares = () => [1, 2, 3, 4].map((n): TaskPrototype => ({ func: square, args: [n] }))
      const plain = await queue.submitEx<number>({ pattern: 'reduce', func: add, dependencies: squares() })
      const seeded = await queue.submitEx<number>({ pattern: 'reduce', func: add, args: [10], dependencies: squares() })
      await runAll(broker())
      expect(await plain.result({ timeout: WAIT })).toBe(30)
      expect(await seeded.result({ timeout: WAIT })).toBe(40)
    })

    it('a batch is atomic: a worker claiming meanwhile never sees half of it', async () => {
      const queue = new Queue({ broker: broker() })
      const other = await peer()
      const size = 300
      const root: TaskPrototype = { func: add, args: [0, 0] }
      const batch: TaskPrototype[] = [root]
      for (let i = 1; i < size; i++) batch.push({ func: add, args: [i, 0], dependencies: i % 2 === 0 ? [root, batch[i - 1] as TaskPrototype] : [root] })
      let stop = false
      const problems: string[] = []
      let claimed = 0
      // A raw claimer on the peer, looping while the batch is submitted: whatever it claims must
      // come with the whole batch stored, and with every dependency stored and succeeded.
      const claimer = (async () => {
        while (!stop && claimed < size) {
          const { tasks } = await other.claim({ worker: 'atomic-claimer', limit: 20, leaseMs: 60_000 })
          if (tasks.length === 0) {
            await new Promise((r) => setImmediate(r))
            continue
          }
          const counts = await other.counts()
          if (counts.creating > 0) problems.push(`${counts.creating} tasks still creating while one was claimed`)
          const stored = Object.values(counts).reduce((a, b) => a + b, 0)
          if (stored !== size) problems.push(`claimed a task while ${stored} of ${size} were stored`)
          for (const task of tasks) {
            const deps = await other.fetch(task.dependencies, ['status'])
            for (const id of task.dependencies) if (deps.get(id)?.status !== 'success') problems.push(`task ${task.id} claimed before dependency ${id} succeeded`)
            await other.finish(task.id, task.attempt, { status: 'success', result: '0' })
            claimed++
          }
        }
      })()
      try {
        await new Promise((r) => setTimeout(r, 5))
        await queue.submitMany(batch)
        await within(
          (async () => {
            while (claimed < size && problems.length === 0) await new Promise((r) => setTimeout(r, 10))
          })(),
          'the claimer to take the whole batch',
        )
      } finally {
        stop = true
        await claimer
      }
      expect(problems).toEqual([])
      expect(claimed).toBe(size)
      expect((await broker().counts()).success).toBe(size)
    })

    it('a dependent of a task that is retried automatically waits for the final outcome', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      breakToken(token)
      const failing = await queue.submitEx({ func: failWhileBroken, args: [token], retries: 1, retryDelay: 10 })
      const dependent = await queue.submitEx({ func: square, args: [5], dependencies: [failing] })
      await runAll(broker())
      expect(runsOf(token)).toHaveLength(2)
      expect(await dependent.exception({ timeout: WAIT })).toBeInstanceOf(DependencyFailedError)
    })
  })
}
