/**
 * Paired Redis latency: several builds of aque (checkouts with their own node_modules, built)
 * and optionally bee-queue in one process, their submit → await round trips alternating, so
 * that a slow spell of the machine lands on all of them alike. Each side has its own worker
 * (concurrency 32) and key prefix. Prints each side's p50 and p90 of the timed round trips.
 * The side listed first comes out slower by about 10–20 µs: compare both orders.
 *
 *   TRIPS=300 WARM=1000 node bench/profiles/redis-latency-paired.mjs /path/to/checkout-a /path/to/checkout-b [bee]
 */
import { randomBytes } from 'node:crypto'
const builds = process.argv.slice(2)
const sides = []
for (const root of builds) {
  if (root === 'bee') {
    const { default: BeeQueue } = await import('bee-queue')
    const q = new BeeQueue('bench', { redis: { host: '127.0.0.1', port: 6379 }, prefix: `bench-bq-${randomBytes(6).toString('hex')}`, isWorker: true, getEvents: true })
    await q.ready()
    q.process(32, async () => {})
    const trip = async () => {
      const job = q.createJob({})
      const done = new Promise((r) => job.once('succeeded', r))
      await job.save()
      await done
    }
    const close = async () => {
      await q.destroy()
      await q.close()
    }
    sides.push({ root, trip, close, samples: [] })
    continue
  }
  const core = await import(`${root}/packages/core/dist/index.js`)
  const { RedisBroker } = await import(`${root}/packages/broker-redis/dist/index.js`)
  const noop = core.task(`bench-noop`, () => {})
  const broker = new RedisBroker(`redis://127.0.0.1:6379/0?prefix=aque-paired-${randomBytes(6).toString('hex')}`)
  await broker.init()
  await broker.ready()
  const queue = new core.Queue({ broker })
  const worker = new core.Worker(broker, { concurrency: 32 })
  const running = worker.runForever()
  const trip = async () => {
    await (await queue.submit(noop)).result()
  }
  const close = async () => {
    await worker.stop()
    await running
    await broker.destroy()
    await broker.close()
  }
  sides.push({ root, trip, close, samples: [] })
}
const N = Number(process.env.TRIPS ?? 3000)
const WARM = Number(process.env.WARM ?? 1000)
for (let i = 0; i < WARM + N; i++) {
  for (const s of sides) {
    const t = performance.now()
    await s.trip()
    if (i >= WARM) s.samples.push(performance.now() - t)
  }
}
for (const s of sides) {
  s.samples.sort((a, b) => a - b)
  console.log(s.root.padEnd(12), 'p50', (s.samples[s.samples.length >> 1] * 1000).toFixed(0), 'p90', (s.samples[Math.floor(s.samples.length * 0.9)] * 1000).toFixed(0))
  await s.close()
}
process.exit(0)
