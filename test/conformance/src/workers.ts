import { type BaseBroker, Queue, type StatusEvent, type TaskPrototype, Worker, decodeRecord } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, eventually, runAll, uniqueToken, withWorker, within } from './helpers.js'
import { add, gate, gateStarted, openGate, ownRecord, record, runsOf, square } from './tasks.js'

/** The in-process Worker on this broker: several at once, one at a time, CPU and host fit, delayed tasks. */
export function workersSuite({ t, broker, peer }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('workers', () => {
    it('3 workers of concurrency 4 run each of 1,000 tasks exactly once', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const n = 1000
      const futures = await queue.submitMany(Array.from({ length: n }, (_, i): TaskPrototype => ({ func: record, args: [token, i] })))
      // For a shared broker each worker has its own connection, as separate processes would.
      const brokers: BaseBroker[] = [broker(), await peer(), await peer()]
      const workers = brokers.map((b, i) => new Worker(b, { concurrency: 4, id: `exactly-once-${i}` }))
      await within(Promise.all(workers.map((w) => w.runToEnd())), 'three workers to run 1,000 tasks', 60_000)
      const perTask = new Map<number, number>()
      for (const run of runsOf(token)) perTask.set(run.id, (perTask.get(run.id) ?? 0) + 1)
      expect(perTask.size).toBe(n)
      for (const f of futures) expect(perTask.get(f.id)).toBe(1)
      expect((await broker().counts()).success).toBe(n)
      const sample = await broker().fetch([futures[0]?.id as number, futures[n - 1]?.id as number], ['attempt', 'result'])
      for (const task of sample.values()) expect(task.attempt).toBe(1)
    }, 90_000)

    it('a lone task submitted while a worker waits idle runs at once, and others hear pending, running, success in order', async () => {
      const b = broker()
      const listener = await peer()
      const heard = new Map<number, string[]>()
      const off = listener.on('task_status', (payload) => {
        const { ids, status } = payload as StatusEvent
        for (const id of ids) heard.set(id, [...(heard.get(id) ?? []), status])
      })
      // A broker that can store the task already claimed for the waiting worker (BaseBroker
      // offerSlots / _submitClaimed) makes no claim for it.
      const handsOff = typeof Reflect.get(b, '_submitClaimed') === 'function'
      const claims = countClaims(b)
      try {
        await withWorker(b, { concurrency: 2, id: 'idle-worker' }, async () => {
          await eventually(() => claims.count > 0, 'the worker to look for work')
          if (handsOff) await eventually(() => (Reflect.get(b, 'offers') as unknown[]).length > 0, 'the worker to offer its slots')
          else await new Promise((r) => setTimeout(r, 50))
          const before = claims.count
          const future = await new Queue({ broker: b }).submit(square, 7)
          expect(await future.result({ timeout: WAIT })).toBe(49)
          expect(await future.task()).toMatchObject({ status: 'success', attempt: 1, worker: 'idle-worker' })
          if (handsOff) expect(claims.count).toBe(before)
          await eventually(() => (heard.get(future.id)?.length ?? 0) >= 3, 'three status messages')
          expect(heard.get(future.id)).toEqual(['pending', 'running', 'success'])
        })
      } finally {
        off()
        claims.restore()
      }
    })

    it('a lone task handed to an idle worker runs with the record the broker stored', async () => {
      const b = broker()
      await withWorker(b, { concurrency: 2, id: 'record-worker' }, async () => {
        if (typeof Reflect.get(b, '_submitClaimed') === 'function') {
          await eventually(() => (Reflect.get(b, 'offers') as unknown[]).length > 0, 'the worker to offer its slots')
        }
        const future = await new Queue({ broker: b }).submitEx({ func: ownRecord, name: 'seen', priority: 7, environ: { A: '1' }, retries: 2 })
        const seen = (await future.result({ timeout: WAIT })) as Record<string, unknown>
        const stored = (await b.fetch([future.id])).get(future.id) as Record<string, unknown>
        // The task sees codec fields as stored text; fetch decodes them.
        const decoded = decodeRecord(seen as never, false) as unknown as Record<string, unknown>
        expect(seen).toMatchObject({ id: future.id, status: 'running', attempt: 1, worker: 'record-worker', name: 'seen', priority: 7, environ: { A: '1' } })
        expect(seen.leaseUntil).toBeGreaterThan(seen.startedAt as number)
        // What the finish changed, apart: everything else is as it was stored for the run.
        const changed = new Set(['status', 'result', 'error', 'finishedAt', 'leaseUntil', 'progress', 'usage'])
        const pick = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => !changed.has(k)))
        expect(pick(decoded)).toEqual(pick(stored))
      })
    })

    it('a lone task that reserves a CPU (a shell command) is claimed by the waiting worker as usual', async () => {
      const b = broker()
      const claims = countClaims(b)
      try {
        await withWorker(b, { concurrency: 2, cpus: 2 }, async () => {
          await eventually(() => claims.count > 0, 'the worker to look for work')
          const before = claims.count
          const future = await new Queue({ broker: b }).submitEx({ pattern: 'shell', args: ['true'] })
          expect(await within(future.wait(), 'the shell task')).toBe('success')
          expect(claims.count).toBeGreaterThan(before)
        })
      } finally {
        claims.restore()
      }
    })

    it('a lone task submitted while another task waits ready before it is queued behind it, and runs', async () => {
      const b = broker()
      const queue = new Queue({ broker: b })
      // Ready before the worker starts, and refused by it (another platform): it stays ready.
      const elsewhere = await queue.submitEx({ func: square, args: [4], platform: 'no-such-platform' })
      await withWorker(b, { concurrency: 2 }, async () => {
        await eventually(async () => (await elsewhere.task()).reason !== null, 'the worker to refuse the first task')
        const future = await queue.submit(square, 5)
        expect(await future.result({ timeout: WAIT })).toBe(25)
      })
      expect(await elsewhere.status()).toBe('pending')
    })

    it('runOne runs one task and reports whether it ran one', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      await queue.submitMany([
        { func: record, args: [token, 'a'] },
        { func: record, args: [token, 'b'] },
      ])
      const worker = new Worker(broker())
      expect(await within(worker.runOne(), 'runOne')).toBe(true)
      expect(runsOf(token)).toHaveLength(1)
      expect(await within(worker.runOne(), 'runOne')).toBe(true)
      expect(await within(worker.runOne(), 'runOne')).toBe(false)
      expect(runsOf(token).map((r) => r.label)).toEqual(['a', 'b'])
    })

    it('a task that does not fit a worker stays pending for one it fits', async () => {
      const queue = new Queue({ broker: broker() })
      const [big, small, elsewhere] = await queue.submitMany([
        { func: square, args: [3], cpus: 4, priority: 2000 },
        { func: square, args: [2], cpus: 1 },
        { func: square, args: [4], platform: 'no-such-platform' },
      ])
      expect(await runAll(broker(), { cpus: 1 })).toBe(1)
      expect(await small?.result({ timeout: WAIT })).toBe(4)
      expect(await big?.status()).toBe('pending')
      expect(await runAll(await peer(), { cpus: 4 })).toBe(1)
      expect(await big?.result({ timeout: WAIT })).toBe(9)
      expect(await elsewhere?.status()).toBe('pending')
    })

    it('a worker runs no more at once than its CPUs allow', async () => {
      const queue = new Queue({ broker: broker() })
      const tokens = [uniqueToken(), uniqueToken(), uniqueToken()]
      const futures = await queue.submitMany(tokens.map((token) => ({ func: gate, args: [token], cpus: 1 })))
      try {
        await withWorker(await peer(), { cpus: 2, concurrency: 10 }, async () => {
          await within(Promise.all(tokens.slice(0, 2).map((token) => gateStarted(token))), 'two tasks to start')
          expect(await futures[2]?.status()).toBe('pending')
          expect((await broker().counts()).running).toBe(2)
          openGate(tokens[0] as string)
          await within(gateStarted(tokens[2] as string), 'the third task to start once a CPU is free')
          for (const token of tokens) openGate(token)
          expect(await Promise.all(futures.map((f) => f.result({ timeout: WAIT })))).toEqual(['opened', 'opened', 'opened'])
        })
      } finally {
        for (const token of tokens) openGate(token)
      }
    })

    it('host rules: a task runs only on a worker whose hostname its globs match; others store why it waits', async () => {
      const queue = new Queue({ broker: broker() })
      const [glob, excluded, elsewhere, listed] = await queue.submitMany([
        { func: square, args: [1], host: 'render*' },
        { func: square, args: [2], host: '!render01' },
        { func: square, args: [3], host: 'comp-*' },
        { func: square, args: [4], host: 'comp-1, render0?' },
      ])
      expect(await runAll(broker(), { hostname: 'render01' })).toBe(2)
      expect(await glob?.result({ timeout: WAIT })).toBe(1)
      expect(await listed?.result({ timeout: WAIT })).toBe(16)
      expect(await excluded?.status()).toBe('pending')
      expect(await elsewhere?.status()).toBe('pending')
      const reason = await eventually(async () => (await elsewhere?.task())?.reason ?? undefined, 'the reason to be stored')
      expect(reason).toContain('comp-*')
      expect(await runAll(await peer(), { hostname: 'comp-7' })).toBe(2)
      expect(await excluded?.result({ timeout: WAIT })).toBe(4)
      expect(await elsewhere?.result({ timeout: WAIT })).toBe(9)
    })

    it('a delayed task (runAt) does not run before its time, and runs after', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const runAt = Date.now() + 300
      const delayed = await queue.submitEx({ func: record, args: [token, 'delayed'], runAt: new Date(runAt) })
      const now = await queue.submit(record, token, 'now')
      const claim = await broker().claim({ worker: 'w-early', limit: 5, leaseMs: 30_000 })
      expect(claim.tasks.map((task) => task.id)).toEqual([now.id])
      if (Date.now() < runAt) {
        expect((await broker().claim({ worker: 'w-early', limit: 5, leaseMs: 30_000 })).tasks).toEqual([])
      }
      expect(await delayed.status()).toBe('pending')
      // runToEnd waits for the delayed task rather than giving up on it.
      await runAll(broker())
      expect(await delayed.result({ timeout: WAIT })).toBe('delayed')
      const run = runsOf(token).find((r) => r.label === 'delayed')
      expect(run?.time).toBeGreaterThanOrEqual(runAt)
    })

    it('a worker running forever picks up tasks submitted while it waits, and stops when asked', async () => {
      const worker = new Worker(await peer(), { concurrency: 2 })
      const running = worker.runForever()
      try {
        const queue = new Queue({ broker: broker() })
        const futures = await queue.submitMany([1, 2, 3].map((n) => ({ func: add, args: [n, 10] })))
        expect(await Promise.all(futures.map((f) => f.result({ timeout: WAIT })))).toEqual([11, 12, 13])
        const later = await queue.submit(square, 7)
        expect(await later.result({ timeout: WAIT })).toBe(49)
      } finally {
        await within(worker.stop(), 'the worker to stop')
        await running
      }
      expect(worker.runningIds).toEqual([])
    })
  })
}

/** Counts the claims a broker makes (of any kind) until `restore`. */
function countClaims(b: BaseBroker): { readonly count: number; restore(): void } {
  const claim = b._claim.bind(b)
  let count = 0
  b._claim = (request) => {
    count++
    return claim(request)
  }
  return {
    get count() {
      return count
    },
    restore: () => {
      b._claim = claim
    },
  }
}
