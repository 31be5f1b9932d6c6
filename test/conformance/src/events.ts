import { type OutputEvent, type ProgressEvent, Queue, type StatusEvent } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, deferred, nextEvent, runAll, uniqueToken, within } from './helpers.js'
import { record, reportProgress } from './tasks.js'

/** One event interface, local and across processes (a peer broker stands for another process). */
export function eventsSuite({ t, broker, peer }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('events', () => {
    it('task_status, task_status.<status> and task_status.<id> listeners get { ids, status }', async () => {
      const listener = await peer()
      const queue = new Queue({ broker: broker() })
      const isPending = (p: StatusEvent) => p.status === 'pending'
      const any = nextEvent<StatusEvent>(listener, 'task_status', isPending)
      const byStatus = nextEvent<StatusEvent>(listener, 'task_status.pending')
      const future = await queue.submit(record, uniqueToken(), 'x')
      expect((await any).ids).toContain(future.id)
      expect(await byStatus).toMatchObject({ status: 'pending' })
      expect((await byStatus).ids).toContain(future.id)
      const success = nextEvent<StatusEvent>(listener, `task_status.${future.id}`, (p) => p.status === 'success')
      const running = nextEvent<StatusEvent>(listener, `task_status.${future.id}`, (p) => p.status === 'running')
      const successAll = nextEvent<StatusEvent>(listener, 'task_status.success', (p) => p.ids.includes(future.id))
      await runAll(broker())
      expect(await running).toEqual({ ids: [future.id], status: 'running' })
      expect(await success).toMatchObject({ ids: [future.id], status: 'success' })
      expect((await successAll).status).toBe('success')
    })

    it('a kill publishes killed for the task and error for its dependents; a retry publishes pending', async () => {
      const listener = await peer()
      const queue = new Queue({ broker: broker() })
      const victim = await queue.submit(record, uniqueToken(), 'victim')
      const dependent = await queue.submitEx({ func: record, args: [uniqueToken(), 'dependent'], dependencies: [victim] })
      const killed = nextEvent<StatusEvent>(listener, `task_status.${victim.id}`, (p) => p.status === 'killed')
      const failed = nextEvent<StatusEvent>(listener, `task_status.${dependent.id}`, (p) => p.status === 'error')
      await broker().kill([victim.id])
      expect(await killed).toMatchObject({ ids: [victim.id], status: 'killed' })
      expect(await failed).toEqual({ ids: [dependent.id], status: 'error' })
      const back = nextEvent<StatusEvent>(listener, `task_status.${dependent.id}`, (p) => p.status === 'pending')
      await broker().retry([victim.id])
      expect(await back).toEqual({ ids: [dependent.id], status: 'pending' })
    })

    it('on() returns an unsubscribe function; off() removes a listener', async () => {
      const b = broker()
      const event = `custom.${uniqueToken()}`
      const seen: string[] = []
      const unsubscribe = b.on(event, () => seen.push('removed by unsubscribe'))
      const viaOff = () => seen.push('removed by off')
      b.on(event, viaOff)
      const kept = nextEvent<{ n: number }>(b, event)
      unsubscribe()
      b.off(event, viaOff)
      await b.emit(event, { n: 1 })
      expect(await kept).toEqual({ n: 1 })
      // The kept listener got the message: the removed ones would have got the same one.
      expect(seen).toEqual([])
    })

    it('emit() of a custom event reaches listeners on this broker and on a peer', async () => {
      const other = await peer()
      const event = `custom.${uniqueToken()}`
      const here = nextEvent(broker(), event)
      const there = nextEvent(other, event)
      const payload = { text: 'hello', list: [1, 2, 3], nested: { ok: true } }
      await broker().emit(event, payload)
      expect(await here).toEqual(payload)
      expect(await there).toEqual(payload)
      const back = nextEvent(broker(), event)
      await other.emit(event, { from: 'peer' })
      expect(await back).toEqual({ from: 'peer' })
    })

    it('new_work is published when a submit makes a task ready', async () => {
      const other = await peer()
      const work = nextEvent(other, 'new_work')
      await new Queue({ broker: broker() }).submit(record, uniqueToken(), 'x')
      await work
    })

    it('currentTask().progress() publishes task_progress.<id> and stores the progress', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(reportProgress, 3, 7)
      const got = deferred<ProgressEvent>()
      const off = future.onProgress((p) => got.resolve(p))
      try {
        await runAll(await peer())
        expect(await within(got.promise, 'a progress event')).toMatchObject({ id: future.id, done: 3, total: 7, message: '3 of 7' })
      } finally {
        off()
      }
      expect(await future.result({ timeout: WAIT })).toBe(3)
      expect((await future.task()).progress).toMatchObject({ done: 3, total: 7, message: '3 of 7' })
    })

    it('output is published as task_output.<id> { stream, offset, data }', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', 'printf hello'] })
      const other = await peer()
      const event = nextEvent<OutputEvent>(other, `task_output.${future.id}`)
      await runAll(broker())
      const got = await event
      expect(got).toMatchObject({ id: future.id, stream: 'stdout', offset: 0 })
      expect(Buffer.from(got.data, 'base64').toString()).toBe('hello')
    })
  })
}
