/**
 * PostgreSQL only: a lone task submitted while a worker of the same process waits with free
 * slots is stored already running for that worker (BaseBroker.offerSlots), in the submit's
 * one statement, when nothing else is ready before it; otherwise it is stored pending and
 * claimed as usual. Either way other processes hear the same status messages in order.
 */
import { Queue, Worker, task } from '@aque/core'
import { afterEach, describe, expect, it } from 'vitest'
import type { PostgresBroker } from '../src/index.js'
import { brokersPerTest, sameSchema } from './helpers.js'

const double = task('pg-hand-off.double', (n: number) => 2 * n)

const broker = brokersPerTest()
const stops: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop()
})

/** A worker running forever on `b`, stopped after the test; resolves once it waits with its slots offered. */
async function idleWorker(b: PostgresBroker): Promise<Worker> {
  const worker = new Worker(b, { concurrency: 2 })
  const running = worker.runForever()
  stops.push(async () => {
    await worker.stop()
    await running
  })
  const offers = Reflect.get(b, 'offers') as unknown[]
  const deadline = Date.now() + 5000
  while (offers.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  expect(offers.length).toBe(1)
  return worker
}

/** Counts the claims `b` makes from now on (of any kind). */
function countClaims(b: PostgresBroker): () => number {
  const claim = b._claim.bind(b)
  let claims = 0
  b._claim = (request) => {
    claims++
    return claim(request)
  }
  return () => claims
}

/** The status messages another process hears for `id`, in order. */
async function statusesHeard(b: PostgresBroker, id: () => number | null) {
  const other = await sameSchema(b)
  stops.push(() => other.close())
  const heard: string[] = []
  for (const status of ['pending', 'running', 'success']) {
    other.on(`task_status.${status}`, (payload) => {
      if ((payload as { ids: number[] }).ids.includes(id() as number)) heard.push(status)
    })
  }
  return heard
}

describe('postgres hand-off to an idle worker of the same process', () => {
  it('a lone task is stored running for the idle worker and runs without a claim; others hear pending, running, success', async () => {
    const b = await broker({ listening: true })
    await idleWorker(b)
    let id: number | null = null
    const heard = await statusesHeard(b, () => id)
    const claims = countClaims(b)
    const future = await new Queue({ broker: b }).submit(double, 21)
    id = future.id
    expect(await future.result()).toBe(42)
    expect(claims()).toBe(0)
    const row = (await b.fetch([future.id])).get(future.id)
    expect(row).toMatchObject({ status: 'success', attempt: 1, result: 42 })
    expect(row?.worker).toMatch(/./)
    const deadline = Date.now() + 5000
    while (heard.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    expect(heard).toEqual(['pending', 'running', 'success'])
  })

  it('with another task ready before it, the task is stored pending and claimed as usual', async () => {
    const b = await broker({ listening: true })
    const queue = new Queue({ broker: b })
    // Ready before the worker starts, and refused by it (another host): it stays ready.
    const elsewhere = await queue.submitEx({ func: double, args: [1], host: 'no-such-host-*' })
    await idleWorker(b)
    const claims = countClaims(b)
    const future = await queue.submit(double, 5)
    expect(await future.result()).toBe(10)
    expect(claims()).toBeGreaterThan(0)
    expect((await b.fetch([elsewhere.id])).get(elsewhere.id)?.status).toBe('pending')
  })

  it('a task the worker would reserve a CPU for is not handed off (a shell task)', async () => {
    const b = await broker({ listening: true })
    await idleWorker(b)
    const claims = countClaims(b)
    const future = await new Queue({ broker: b }).submitEx({ pattern: 'shell', args: ['true'] })
    await future.wait()
    expect(claims()).toBeGreaterThan(0)
    expect((await b.fetch([future.id])).get(future.id)?.status).toBe('success')
  })
})
