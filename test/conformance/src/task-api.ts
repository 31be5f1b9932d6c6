import { Queue, type TaskPrototype, ValidationError } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, collect, runAll, uniqueToken } from './helpers.js'
import { add, record, spawnChild, square, throwTypeError } from './tasks.js'

/** The low-level task API: fetch, search, delete, counts, setStatus. */
export function taskApiSuite({ t, broker, peer }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('task api', () => {
    it('fetch returns decoded tasks, only the fields asked (and id); unknown ids are absent', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submitEx({ func: add, args: [1, 2], name: 'sum', priority: 7 })
      await runAll(broker())
      const all = await (await peer()).fetch([future.id, 999_999])
      expect([...all.keys()]).toEqual([future.id])
      expect(all.get(future.id)).toMatchObject({ id: future.id, name: 'sum', priority: 7, status: 'success', result: 3, args: [1, 2] })
      const some = await broker().fetch([future.id], ['status', 'result'])
      expect(some.get(future.id)).toEqual({ id: future.id, status: 'success', result: 3 })
      expect((await broker().fetch([999_998])).size).toBe(0)
      await expect(broker().fetch([future.id], ['nonsense' as never])).rejects.toBeInstanceOf(ValidationError)
      await expect(broker().fetch([0])).rejects.toBeInstanceOf(ValidationError)
      await expect(broker().fetch([1.5])).rejects.toBeInstanceOf(ValidationError)
    })

    it('search pages through more tasks than a page holds, ascending by id, with limit and fields', async () => {
      const queue = new Queue({ broker: broker() })
      const futures = await queue.submitMany(Array.from({ length: 25 }, (_, i): TaskPrototype => ({ func: square, args: [i] })))
      const ids = futures.map((f) => f.id)
      const found = await collect((await peer()).search({}, { pageSize: 10 }))
      expect(found.map((task) => task.id)).toEqual(ids)
      expect(found[3]?.args).toEqual([3])
      const limited = await collect(broker().search({}, { pageSize: 4, limit: 7, fields: ['status'] }))
      expect(limited).toEqual(ids.slice(0, 7).map((id) => ({ id, status: 'pending' })))
      const after = await collect(broker().search({ afterId: ids[19] }, { pageSize: 2 }))
      expect(after.map((task) => task.id)).toEqual(ids.slice(20))
    })

    it('search filters by status, parent and user', async () => {
      const queue = new Queue({ broker: broker() })
      const [ok, bad, waiting] = await queue.submitMany([
        { func: square, args: [2] },
        { func: throwTypeError },
        { func: square, args: [3], runAt: Date.now() + 3_600_000 },
      ])
      const parent = await queue.submit(spawnChild)
      const worker = await peer()
      await worker.kill([waiting?.id as number])
      await runAll(worker)
      const child = (await parent.result({ timeout: WAIT })) as number
      const byStatus = async (...status: Array<'success' | 'error' | 'killed'>) =>
        (await collect(broker().search({ status }, { pageSize: 2 }))).map((task) => task.id)
      expect(await byStatus('error')).toEqual([bad?.id])
      expect(await byStatus('killed')).toEqual([waiting?.id])
      expect(await byStatus('success')).toEqual([ok?.id, parent.id, child])
      expect(await byStatus('error', 'killed')).toEqual([bad?.id, waiting?.id])
      expect((await collect(broker().search({ parent: parent.id }))).map((task) => task.id)).toEqual([child])
      const user = (await parent.task()).user
      if (user) expect(await collect(broker().search({ user }, { fields: ['id'] }))).toHaveLength(5)
      expect(await collect(broker().search({ user: `${uniqueToken()}-nobody` }))).toEqual([])
      await expect(collect(broker().search({ status: ['bogus' as never] }))).rejects.toBeInstanceOf(ValidationError)
    })

    it('delete removes tasks and their output, and counts what existed', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', 'echo bye'] })
      const kept = await queue.submit(square, 2)
      await runAll(broker())
      expect((await broker().getOutput([future.id])).length).toBeGreaterThan(0)
      expect(await (await peer()).delete([future.id, 999_999])).toBe(1)
      expect((await broker().fetch([future.id])).size).toBe(0)
      expect(await broker().getOutput([future.id])).toEqual([])
      expect(await broker().delete([future.id])).toBe(0)
      expect(await kept.result({ timeout: WAIT })).toBe(4)
      expect(await broker().counts()).toMatchObject({ success: 1, pending: 0, error: 0 })
    })

    it('counts gives the number of tasks in every state', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const ok = await queue.submit(record, token, 1)
      await queue.submit(throwTypeError)
      await runAll(broker())
      await queue.submitMany([
        { func: square, args: [1] },
        { func: square, args: [2] },
      ])
      const killed = await queue.submit(square, 3)
      await killed.cancel()
      const counts = await (await peer()).counts()
      expect(counts).toEqual({ creating: 0, pending: 2, running: 0, suspended: 0, success: 1, error: 1, killed: 1 })
      expect(await ok.result({ timeout: WAIT })).toBe(1)
    })

    it('setStatus validates the transition and notifies', async () => {
      const queue = new Queue({ broker: broker() })
      const [a, b, c] = await queue.submitMany([
        { func: square, args: [1] },
        { func: square, args: [2] },
        { func: square, args: [3] },
      ])
      const dependent = await queue.submitEx({ func: add, args: [0, 0], dependencies: [b as never] })
      await broker().setStatus([a?.id as number], 'success', { manual: true })
      expect(await a?.result({ timeout: WAIT })).toEqual({ manual: true })
      await broker().setStatus([b?.id as number], 'error', new RangeError('set by hand'))
      expect(await b?.exception({ timeout: WAIT })).toBeInstanceOf(RangeError)
      expect(await dependent.status()).toBe('error')
      await broker().setStatus([c?.id as number], 'killed')
      expect(await c?.status()).toBe('killed')
      // A complete task is not completed again.
      await broker().setStatus([a?.id as number], 'error', new Error('too late'))
      expect(await a?.result({ timeout: WAIT })).toEqual({ manual: true })
      // Back to pending re-queues, successes included, and the dependent waits again.
      await broker().setStatus([a?.id as number, b?.id as number], 'pending')
      expect(await a?.status()).toBe('pending')
      expect(await dependent.status()).toBe('pending')
      await runAll(broker())
      expect(await a?.result({ timeout: WAIT })).toBe(1)
      expect(await dependent.result({ timeout: WAIT })).toBe(0)
      for (const status of ['running', 'creating', 'suspended', 'bogus'] as const) {
        await expect(broker().setStatus([a?.id as number], status as never)).rejects.toBeInstanceOf(ValidationError)
      }
    })
  })
}
