// A worker asks for no more tasks than fit in what is free, sized like the last task it looked
// at: a 2-CPU worker running 1-CPU tasks does not claim 32 to hand 30 back.
import { MemoryBroker } from '@aque/broker-memory'
import { expect, it } from 'vitest'
import { type ClaimRequest, Queue, Worker } from '../src/index.js'

class CountingBroker extends MemoryBroker {
  readonly limits: number[] = []
  override async _claim(request: ClaimRequest) {
    this.limits.push(request.limit)
    return super._claim(request)
  }
}

it('caps its claims to the tasks that fit, once it has seen their size', async () => {
  const broker = new CountingBroker()
  const queue = new Queue({ broker })
  const worker = new Worker(broker, { cpus: 2 })
  const job = () => new Promise((r) => setTimeout(r, 5))
  await queue.submitMany(Array.from({ length: 8 }, () => ({ func: job, cpus: 1 })))
  expect(await worker.runToEnd()).toBe(8)
  // The first claim knows nothing of the tasks' size; every later one asks for what fits.
  expect(broker.limits[0]).toBeGreaterThan(2)
  expect(broker.limits.slice(1).every((n) => n <= 2)).toBe(true)
})

it('lifts the cap when the next tasks reserve nothing', async () => {
  const broker = new CountingBroker()
  const queue = new Queue({ broker })
  const worker = new Worker(broker, { cpus: 2, concurrency: 8, prefetch: 0 })
  await queue.submitMany(Array.from({ length: 4 }, () => ({ func: () => 1, cpus: 1 })))
  await worker.runToEnd()
  broker.limits.length = 0
  await queue.submitMany(Array.from({ length: 16 }, () => ({ func: () => 2 })))
  expect(await worker.runToEnd()).toBe(16)
  // One claim sized for the 1-CPU tasks seen last (2 CPUs: 2), then a full one for the free
  // slots; later claims ask for the slots free then (how many depends on how fast runs end).
  expect(broker.limits[0]).toBe(2)
  expect(broker.limits.slice(1)).toContain(8)
  expect(Math.max(...broker.limits)).toBe(8)
})
