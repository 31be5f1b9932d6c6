import { userInfo } from 'node:os'
import { type BaseBroker, DependencyResolutionError, FunctionResolutionError, Queue, type TaskPrototype, ValidationError } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, runAll } from './helpers.js'
import { add, square } from './tasks.js'

async function total(broker: BaseBroker): Promise<number> {
  return Object.values(await broker.counts()).reduce((a, b) => a + b, 0)
}

function submitter(): string | null {
  try {
    return userInfo().username
  } catch {
    return null
  }
}

/** Submission: defaults, ids, dependencies given three ways, bad input rejected at the call. */
export function submitSuite({ t, broker }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('submit', () => {
    it("a function's value comes back", async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(add, 2, 3)
      await runAll(broker())
      expect(await future.result({ timeout: WAIT })).toBe(5)
    })

    it('a plain closure runs only where the broker can run local functions', async () => {
      const queue = new Queue({ broker: broker() })
      const base = 40
      const closure = (n: number) => base + n
      if (broker().capabilities.localFunctions) {
        const future = await queue.submit(closure, 2)
        await runAll(broker())
        expect(await future.result({ timeout: WAIT })).toBe(42)
      } else {
        await expect(queue.submit(closure, 2)).rejects.toBeInstanceOf(FunctionResolutionError)
        expect(await total(broker())).toBe(0)
      }
    })

    it('defaults after submit: pending, priority 1000, user and cwd of the submitter', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(add, 1, 1)
      const task = await future.task()
      expect(task.status).toBe('pending')
      expect(task.priority).toBe(1000)
      expect(task.cwd).toBe(process.cwd())
      expect(task.user).toBe(submitter())
      expect(task.attempt).toBe(0)
      expect(task.retryCount).toBe(0)
      expect(task.parent).toBeNull()
      expect(task.dependencies).toEqual([])
      expect(task.args).toEqual([1, 1])
      expect(task.pattern).toBe('generic')
    })

    it('ids increase in submission order', async () => {
      const queue = new Queue({ broker: broker() })
      const ids: number[] = []
      for (let i = 0; i < 5; i++) ids.push((await queue.submit(add, i, i)).id)
      const batch = await queue.submitMany([1, 2, 3].map((n) => ({ func: square, args: [n] })))
      ids.push(...batch.map((f) => f.id))
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1] as number)
    })

    it('queue.task() makes a submitter with defaults', async () => {
      const queue = new Queue({ broker: broker() })
      const urgentSquare = queue.task(square, { priority: 5000, name: 'urgent' })
      const future = await urgentSquare(7)
      const task = await future.task()
      expect(task).toMatchObject({ priority: 5000, name: 'urgent', args: [7] })
      await runAll(broker())
      expect(await future.result({ timeout: WAIT })).toBe(49)
    })

    it('unknown prototype fields are kept in extra', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submitEx({ func: add, args: [1, 2], name: 'sum', team: 'lighting', shot: { seq: 10, frames: [1, 2] } })
      const task = await future.task()
      expect(task.name).toBe('sum')
      expect(task.extra).toEqual({ team: 'lighting', shot: { seq: 10, frames: [1, 2] } })
    })

    it('dependencies by id, by future and by nested prototype each get a smaller id', async () => {
      const queue = new Queue({ broker: broker() })
      const byId = await queue.submit(add, 1, 0)
      const byFuture = await queue.submit(add, 2, 0)
      const top = await queue.submitEx({ func: add, args: [3, 0], dependencies: [byId.id, byFuture, { func: add, args: [4, 0] }] })
      const deps = await top.dependencies()
      expect(deps).toHaveLength(3)
      expect(deps.map((d) => d.id).slice(0, 2)).toEqual([byId.id, byFuture.id])
      for (const d of deps) expect(d.id).toBeLessThan(top.id)
      expect(await deps[2]?.status()).toBe('pending')
      await runAll(broker())
      expect(await top.result({ timeout: WAIT })).toBe(3)
    })

    it('a nested prototype shared by two parents (diamond) is submitted once', async () => {
      const queue = new Queue({ broker: broker() })
      const bottom: TaskPrototype = { func: square, args: [3] }
      const top = await queue.submitEx({
        func: add,
        args: [0, 0],
        dependencies: [
          { func: square, args: [1], dependencies: [bottom] },
          { func: square, args: [2], dependencies: [bottom] },
        ],
      })
      expect(await total(broker())).toBe(4)
      const [left, right] = await top.dependencies()
      const [l] = (await left?.dependencies()) ?? []
      const [r] = (await right?.dependencies()) ?? []
      expect(l?.id).toBeDefined()
      expect(l?.id).toBe(r?.id)
      expect(l?.id).toBeLessThan(left?.id as number)
    })

    it('an unknown dependency id is rejected at submit and creates nothing', async () => {
      const queue = new Queue({ broker: broker() })
      await expect(queue.submitEx({ func: add, args: [1, 1], dependencies: [999_999] })).rejects.toBeInstanceOf(DependencyResolutionError)
      await expect(queue.submitMany([{ func: add, args: [1, 1] }, { func: add, args: [1, 1], dependencies: [999_999] }])).rejects.toBeInstanceOf(
        DependencyResolutionError,
      )
      expect(await total(broker())).toBe(0)
    })

    it('a dependency loop among prototypes is rejected and creates nothing', async () => {
      const queue = new Queue({ broker: broker() })
      const a: TaskPrototype = { func: add, args: [1, 1], dependencies: [] }
      const b: TaskPrototype = { func: add, args: [2, 2], dependencies: [a] }
      a.dependencies?.push(b)
      await expect(queue.submitEx(a)).rejects.toBeInstanceOf(DependencyResolutionError)
      const self: TaskPrototype = { func: add, args: [1, 1], dependencies: [] }
      self.dependencies?.push(self)
      await expect(queue.submitMany([{ func: square, args: [1] }, self])).rejects.toBeInstanceOf(DependencyResolutionError)
      expect(await total(broker())).toBe(0)
    })

    it('an invalid prototype anywhere in a batch creates nothing, and the error names the field', async () => {
      const queue = new Queue({ broker: broker() })
      const bad = { func: add, args: [1, 1], priority: 'high' } as unknown as TaskPrototype
      await expect(queue.submitMany([{ func: add, args: [1, 1] }, bad])).rejects.toThrow(/priority/)
      await expect(queue.submitEx({ func: add, args: [1, 1], dependencies: [{ func: square, args: [2] }, { func: square, retries: -1 }] })).rejects.toThrow(
        /retries/,
      )
      expect(await total(broker())).toBe(0)
    })

    it('bad input fails at the call with ValidationError naming the field', async () => {
      const queue = new Queue({ broker: broker() })
      const cases: Array<[TaskPrototype, RegExp]> = [
        [{ func: add, priority: 1.5 }, /priority/],
        [{ func: add, memory: 'lots' }, /memory/],
        [{ func: add, cpus: 0 }, /cpus/],
        [{ func: add, args: 'not an array' as never }, /args/],
        [{ pattern: 'shell' }, /args/],
        [{ pattern: 'generic' }, /func/],
      ]
      for (const [proto, field] of cases) {
        const err = await queue.submitEx(proto).then(
          () => null,
          (e: unknown) => e,
        )
        expect(err).toBeInstanceOf(ValidationError)
        expect((err as Error).message).toMatch(field)
      }
      expect(await total(broker())).toBe(0)
    })

    it('an argument the codec cannot carry is rejected at the call', async () => {
      const queue = new Queue({ broker: broker() })
      class Point {
        constructor(
          readonly x: number,
          readonly y: number,
        ) {}
      }
      const circular: Record<string, unknown> = { a: 1 }
      circular.self = circular
      const values: unknown[] = [() => 1, new Point(1, 2), circular, Symbol('s')]
      for (const value of values) {
        await expect(queue.submit(add, value as number, 1)).rejects.toBeInstanceOf(ValidationError)
        await expect(queue.submitEx({ func: add, args: [1, 2], kwargs: { value } })).rejects.toBeInstanceOf(ValidationError)
      }
      expect(await total(broker())).toBe(0)
    })
  })
}
