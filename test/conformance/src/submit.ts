import { DependencyResolutionError, Queue, ValidationError, Worker } from '@aque/core'
import type { SuiteContext } from './harness.js'

/** Submission: defaults, ids, dependencies given three ways, atomic batches, bad input. */
export function submitSuite({ t, broker }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('submit', () => {
    it("a function's value comes back", async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit((a: number, b: number) => a + b, 2, 3)
      await new Worker(broker()).runToEnd()
      expect(await future.result()).toBe(5)
    })

    it('defaults after submit: pending, priority 1000', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(() => 1)
      const task = await future.task()
      expect(task.status).toBe('pending')
      expect(task.priority).toBe(1000)
      expect(task.cwd).toBe(process.cwd())
    })

    it('dependencies by id, by future and by nested prototype each get a smaller id', async () => {
      const queue = new Queue({ broker: broker() })
      const byId = await queue.submit(() => 1)
      const byFuture = await queue.submit(() => 2)
      const top = await queue.submitEx({ func: () => 3, dependencies: [byId.id, byFuture, { func: () => 4 }] })
      const deps = await top.dependencies()
      expect(deps.map((d) => d.id).slice(0, 2)).toEqual([byId.id, byFuture.id])
      for (const d of deps) expect(d.id).toBeLessThan(top.id)
    })

    it('an unknown dependency id is rejected at submit and creates nothing', async () => {
      const queue = new Queue({ broker: broker() })
      await expect(queue.submitEx({ func: () => 1, dependencies: [999_999] })).rejects.toBeInstanceOf(DependencyResolutionError)
      const counts = await broker().counts()
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0)
    })

    it('a dependency loop among prototypes is rejected', async () => {
      const queue = new Queue({ broker: broker() })
      const a: { func: () => number; dependencies: unknown[] } = { func: () => 1, dependencies: [] }
      const b = { func: () => 2, dependencies: [a] }
      a.dependencies.push(b)
      await expect(queue.submitEx(a as never)).rejects.toBeInstanceOf(DependencyResolutionError)
    })

    it('bad input fails at the call, naming the field', async () => {
      const queue = new Queue({ broker: broker() })
      await expect(queue.submitEx({ func: () => 1, priority: 1.5 })).rejects.toThrow(/priority/)
      await expect(queue.submitEx({ func: () => 1, memory: 'lots' })).rejects.toThrow(/memory/)
      await expect(queue.submit((x: unknown) => x, () => 1)).rejects.toBeInstanceOf(ValidationError)
    })
  })
}
