// Claim-ahead (the worker's `prefetch`): tasks claimed beyond the free slots wait under the
// worker's lease, start as slots free up, and go back to `pending` when they wait too long or
// the worker stops; tasks that reserve CPUs or memory are never claimed ahead.
import { MemoryBroker } from '@aque/broker-memory'
import { afterEach, expect, it } from 'vitest'
import { Queue, Worker, type WorkerOptions } from '../src/index.js'

let release: () => void = () => {}
const gate = () =>
  new Promise<void>((resolve) => {
    release = resolve
  })
afterEach(() => release())

async function statusOf(broker: MemoryBroker, id: number): Promise<string | undefined> {
  return (await broker.fetch([id], ['status'])).get(id)?.status
}

/** A memory broker with its queue, and a worker with `options` running forever on it. */
function started(options: WorkerOptions) {
  const broker = new MemoryBroker()
  const worker = new Worker(broker, options)
  return { broker, queue: new Queue({ broker }), worker, running: worker.runForever() }
}

it('claims short tasks ahead of free slots and runs them as slots free up', async () => {
  const { broker, queue, worker, running } = started({ concurrency: 1, prefetch: 2 })
  const blocker = await queue.submitEx({ func: gate, priority: 2000 })
  const shorts = await queue.submitMany([{ func: () => 1 }, { func: () => 2 }, { func: () => 3 }])
  await expect.poll(() => statusOf(broker, blocker.id)).toBe('running')
  // One slot, held by the blocker: two short tasks are claimed ahead, the third waits.
  await expect.poll(async () => Promise.all(shorts.map((f) => statusOf(broker, f.id)))).toEqual(['running', 'running', 'pending'])
  release()
  expect(await Promise.all(shorts.map((f) => f.result({ timeout: 5000 })))).toEqual([1, 2, 3])
  await worker.stop()
  await running
})

it('hands a task claimed ahead back when it waited longer than prefetchWaitMs, for another worker', async () => {
  const broker = new MemoryBroker()
  const queue = new Queue({ broker })
  const first = new Worker(broker, { id: 'first', concurrency: 1, prefetch: 1, prefetchWaitMs: 200 })
  const running = first.runForever()
  const blocker = await queue.submitEx({ func: gate, priority: 2000 })
  const short = await queue.submit(() => 'done')
  await expect.poll(() => statusOf(broker, short.id)).toBe('running')
  await expect.poll(() => statusOf(broker, short.id), { timeout: 3000 }).toBe('pending')
  const second = new Worker(broker, { id: 'second', prefetch: 0 })
  await second.runOne()
  expect(await short.result({ timeout: 1000 })).toBe('done')
  expect((await broker.fetch([short.id], ['worker'])).get(short.id)?.worker).toBe('second')
  expect(await statusOf(broker, blocker.id)).toBe('running')
  release()
  await first.stop()
  await running
})

it('never claims ahead a task that reserves CPUs', async () => {
  const { broker, queue, worker, running } = started({ concurrency: 1, prefetch: 4, cpus: 8 })
  const blocker = await queue.submitEx({ func: gate, priority: 2000 })
  const heavy = await queue.submitEx({ func: () => 'heavy', cpus: 1 })
  const light = await queue.submit(() => 'light')
  await expect.poll(() => statusOf(broker, light.id)).toBe('running')
  expect(await statusOf(broker, blocker.id)).toBe('running')
  expect(await statusOf(broker, heavy.id)).toBe('pending')
  release()
  expect(await heavy.result({ timeout: 5000 })).toBe('heavy')
  await worker.stop()
  await running
})

it('hands tasks claimed ahead back when it stops', async () => {
  const { broker, queue, worker, running } = started({ concurrency: 1, prefetch: 2 })
  await queue.submitEx({ func: gate, priority: 2000 })
  const shorts = await queue.submitMany([{ func: () => 1 }, { func: () => 2 }])
  await expect.poll(async () => Promise.all(shorts.map((f) => statusOf(broker, f.id)))).toEqual(['running', 'running'])
  const stopped = worker.stop()
  release()
  await stopped
  await running
  expect(await Promise.all(shorts.map((f) => statusOf(broker, f.id)))).toEqual(['pending', 'pending'])
})

it('never starts a task killed while it waited claimed ahead', async () => {
  const { broker, queue, worker, running } = started({ concurrency: 1, prefetch: 1 })
  await queue.submitEx({ func: gate, priority: 2000 })
  let ran = false
  const victim = await queue.submit(() => {
    ran = true
  })
  await expect.poll(() => statusOf(broker, victim.id)).toBe('running')
  await broker.kill([victim.id])
  release()
  await worker.stop()
  await running
  expect(await statusOf(broker, victim.id)).toBe('killed')
  expect(ran).toBe(false)
})

it('starts a burst with a claim for its free slots only, then claims four times more each time until its room is full', async () => {
  const limits: number[] = []
  const broker = new (class extends MemoryBroker {
    override async _claim(request: Parameters<MemoryBroker['_claim']>[0]) {
      limits.push(request.limit)
      return super._claim(request)
    }
  })()
  const worker = new Worker(broker, { concurrency: 4, prefetch: 200 })
  await new Queue({ broker }).submitMany(Array.from({ length: 1000 }, () => ({ func: () => 1 })))
  expect(await worker.runToEnd()).toBe(1000)
  expect(limits.slice(0, 3)).toEqual([4, 16, 64])
  expect(Math.max(...limits)).toBeLessThanOrEqual(204)
  expect(limits.some((n) => n > 64)).toBe(true)
  // After a claim that got less than it asked for, the next asks for the free slots only.
  const after = limits.length
  await new Queue({ broker }).submitMany(Array.from({ length: 10 }, () => ({ func: () => 1 })))
  expect(await worker.runToEnd()).toBe(10)
  expect(limits[after]).toBe(4)
})

it('rejects a prefetch that is not a whole number ≥ 0', () => {
  expect(() => new Worker(new MemoryBroker(), { prefetch: -1 })).toThrow(/prefetch/)
  expect(() => new Worker(new MemoryBroker(), { prefetch: 1.5 })).toThrow(/prefetch/)
})
