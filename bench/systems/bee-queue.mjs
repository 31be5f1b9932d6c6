/**
 * bee-queue (peer of aque-redis) on 127.0.0.1:6379, each scenario under its own key prefix,
 * removed afterwards (destroy). Default options (successful jobs are kept, as aque keeps tasks).
 */
import { randomBytes } from 'node:crypto'
import BeeQueue from 'bee-queue'
import { alternatingBacklog, latencyPercentiles, nowMs, nowUs, perSecond } from '../lib/measure.mjs'

const redis = { host: '127.0.0.1', port: 6379 }
const WARMUP = 500
const LATENCY_WARMUP = 1000

/** A queue under a fresh prefix, processing no-op jobs, counting `succeeded` events. */
async function setUp(concurrency = 32, { process = true } = {}) {
  const queue = new BeeQueue('bench', { redis, prefix: `bench-bq-${randomBytes(6).toString('hex')}`, isWorker: true, getEvents: true })
  await queue.ready()
  let done = 0
  let target = 0
  let resolve = () => {}
  queue.on('succeeded', () => {
    done++
    if (done === target) resolve()
  })
  const ctx = {
    queue,
    /** Resolves when `n` more jobs succeeded. */
    expect(n) {
      target = done + n
      return new Promise((r) => {
        resolve = r
      })
    },
    start() {
      queue.process(concurrency, async () => {})
    },
  }
  if (process) {
    ctx.start()
    const warm = ctx.expect(WARMUP)
    await saveMany(queue, WARMUP)
    await warm
  }
  return ctx
}

async function saveMany(queue, n, delayUntil = null) {
  for (let i = 0; i < n; i += 10_000) {
    const jobs = Array.from({ length: Math.min(10_000, n - i) }, () => {
      const job = queue.createJob({})
      return delayUntil === null ? job : job.delayUntil(delayUntil)
    })
    await queue.saveAll(jobs)
  }
}

async function tearDown({ queue }) {
  await queue.destroy()
  await queue.close()
}

export default {
  name: 'bee-queue',
  group: 'redis',
  node: 'node20',
  scenarios: {
    async drain({ tasks, concurrency }) {
      // The drain's queue processes nothing before it is timed; a throwaway queue runs the
      // warm-up batch first, so that the drain runs warm code, as every system's does.
      await tearDown(await setUp(concurrency))
      const ctx = await setUp(concurrency, { process: false })
      try {
        const t0 = nowMs()
        await saveMany(ctx.queue, tasks)
        const submitMs = nowMs() - t0
        const drained = ctx.expect(tasks)
        const start = nowMs()
        ctx.start()
        await drained
        return { tasksPerSec: perSecond(tasks, nowMs() - start), submitPerSec: perSecond(tasks, submitMs) }
      } finally {
        await tearDown(ctx)
      }
    },

    async latency({ roundTrips }) {
      const ctx = await setUp()
      try {
        const samples = []
        for (let i = 0; i < LATENCY_WARMUP + roundTrips; i++) {
          const start = nowUs()
          const job = ctx.queue.createJob({})
          const finished = new Promise((resolve) => job.once('succeeded', resolve))
          await job.save()
          await finished
          if (i >= LATENCY_WARMUP) samples.push(nowUs() - start)
        }
        return latencyPercentiles(samples)
      } finally {
        await tearDown(ctx)
      }
    },

    /** The waiting jobs are delayed by an hour: they sit in bee-queue's delayed set. */
    async backlog({ fresh, waiting }) {
      const rounds = 5
      const empty = await setUp()
      const loaded = await setUp()
      try {
        await saveMany(loaded.queue, waiting, Date.now() + 3_600_000)
        return await alternatingBacklog(empty, loaded, rounds, async (side) => {
          const drained = side.expect(fresh)
          const start = nowMs()
          await saveMany(side.queue, fresh)
          await drained
          return nowMs() - start
        })
      } finally {
        await tearDown(empty)
        await tearDown(loaded)
      }
    },
  },
}
