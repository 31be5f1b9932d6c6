import { Queue, encode } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, eventually } from './helpers.js'
import { add } from './tasks.js'

/** Pausing and resuming a run (a worker suspends a task for more urgent work): `suspend`/`resume`. */
export function suspendSuite({ t, broker, peer }: SuiteContext): void {
  const { describe, it, expect } = t
  /** Submits add(…args) and claims it for `worker`: the run to suspend, and its attempt. */
  async function claimedRun(args: [number, number], worker: string, leaseMs: number) {
    const future = await new Queue({ broker: broker() }).submit(add, ...args)
    const { tasks } = await broker().claim({ worker, limit: 1, leaseMs })
    expect(tasks.map((task) => task.id)).toEqual([future.id])
    return { future, attempt: tasks[0]?.attempt as number }
  }

  describe('suspend and resume', () => {
    it('a held run goes to suspended and back to running, each change published and counted', async () => {
      const { future, attempt } = await claimedRun([2, 3], 'w-suspend', 30_000)
      const watcher = await peer()
      const heard: string[] = []
      const off = watcher.on(`task_status.${future.id}`, (payload) => {
        heard.push((payload as { status: string }).status)
      })
      try {
        expect(await broker().suspend(future.id, attempt)).toBe(true)
        const suspended = await future.task()
        expect(suspended.status).toBe('suspended')
        // Only the status changes: the run keeps its worker, attempt and start.
        expect(suspended).toMatchObject({ worker: 'w-suspend', attempt })
        expect(suspended.startedAt).not.toBeNull()
        expect((await broker().counts()).suspended).toBe(1)
        expect([...(await collect(broker().search({ status: ['suspended'] })))]).toEqual([future.id])
        // Asking again changes nothing and publishes nothing, but the run is still held.
        expect(await broker().suspend(future.id, attempt)).toBe(true)
        expect(await broker().resume(future.id, attempt)).toBe(true)
        expect((await future.task()).status).toBe('running')
        expect((await broker().counts()).suspended).toBe(0)
        await eventually(() => (heard.includes('running') ? true : undefined), 'the running event')
        expect(heard).toEqual(['suspended', 'running'])
      } finally {
        off()
      }
      expect(await broker().finish(future.id, attempt, { status: 'success', result: encode(5) })).toBe(true)
      expect(await future.result({ timeout: WAIT })).toBe(5)
    })

    it('a suspended run keeps its lease by heartbeat, is not reaped, and may finish while suspended', async () => {
      const { future, attempt } = await claimedRun([1, 1], 'w-held', 300)
      expect(await broker().suspend(future.id, attempt)).toBe(true)
      for (let i = 0; i < 4; i++) {
        expect(await broker().heartbeat('w-held', [{ id: future.id, attempt }], 300)).toEqual([])
        await new Promise((r) => setTimeout(r, 150))
        await broker().reapExpired()
      }
      expect((await future.task()).status).toBe('suspended')
      expect(await broker().finish(future.id, attempt, { status: 'success', result: encode(2) })).toBe(true)
      expect(await future.result({ timeout: WAIT })).toBe(2)
    })

    it('a suspended run whose lease ran out is reaped to pending like a running one', async () => {
      const { future, attempt } = await claimedRun([1, 2], 'w-dead', 200)
      expect(await broker().suspend(future.id, attempt)).toBe(true)
      await eventually(async () => (await broker().reapExpired()) > 0 || undefined, 'the suspended run to be reaped')
      expect((await future.task()).status).toBe('pending')
      // The old attempt can neither resume nor suspend it now.
      expect(await broker().resume(future.id, attempt)).toBe(false)
      expect(await broker().suspend(future.id, attempt)).toBe(false)
      expect((await future.task()).status).toBe('pending')
    })

    it('suspend and resume are fenced: a wrong attempt, a finished, killed, pending or unknown task change nothing', async () => {
      const queue = new Queue({ broker: broker() })
      const [done, killed, waiting] = await queue.submitMany([
        { func: add, args: [1, 1] },
        { func: add, args: [2, 2] },
        { func: add, args: [3, 3], priority: -1 },
      ])
      const claimed = (await broker().claim({ worker: 'w-fence', limit: 2, leaseMs: 30_000 })).tasks
      expect(claimed.map((c) => c.id)).toEqual([done?.id, killed?.id])
      const attempt = claimed[0]?.attempt as number
      expect(await broker().suspend(done?.id as number, attempt + 1)).toBe(false)
      expect((await done?.task())?.status).toBe('running')
      expect(await broker().finish(done?.id as number, attempt, { status: 'success', result: encode(2) })).toBe(true)
      expect(await broker().suspend(done?.id as number, attempt)).toBe(false)
      expect((await done?.task())?.status).toBe('success')
      expect(await broker().suspend(killed?.id as number, attempt)).toBe(true)
      await broker().kill([killed?.id as number])
      expect(await broker().resume(killed?.id as number, attempt)).toBe(false)
      expect((await killed?.task())?.status).toBe('killed')
      expect(await broker().suspend(waiting?.id as number, 1)).toBe(false)
      expect((await waiting?.task())?.status).toBe('pending')
      expect(await broker().suspend(987_654_321, 1)).toBe(false)
      await expect(broker().suspend(0, 1)).rejects.toMatchObject({ code: 'AQUE_VALIDATION' })
      await expect(broker().resume(done?.id as number, 0)).rejects.toMatchObject({ code: 'AQUE_VALIDATION' })
    })
  })
}

async function collect(records: AsyncIterable<{ id: number }>): Promise<number[]> {
  const ids: number[] = []
  for await (const r of records) ids.push(r.id)
  return ids
}
