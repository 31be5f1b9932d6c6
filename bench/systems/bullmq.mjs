/**
 * BullMQ (peer of aque-redis) on 127.0.0.1:6379, each scenario on its own queue name, removed
 * afterwards (obliterate). Default job options (completed jobs are kept, as aque keeps tasks).
 */
import { randomBytes } from 'node:crypto'
import { Queue, QueueEvents, Worker } from 'bullmq'
import { alternatingBacklog, latencyPercentiles, nowMs, nowUs, perSecond } from '../lib/measure.mjs'

const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null }
const WARMUP = 500
const LATENCY_WARMUP = 1000

function queueName() {
  return `bench-bullmq-${randomBytes(6).toString('hex')}`
}

/** A worker that is paused until `run()`; resolves `drained` after `expected` completions. */
function countingWorker(name, concurrency) {
  let done = 0
  let target = 0
  let resolve = () => {}
  const worker = new Worker(name, async () => {}, { connection, concurrency, autorun: false })
  worker.on('completed', () => {
    done++
    if (done === target) resolve()
  })
  return {
    worker,
    /** Resolves when `n` more jobs completed. */
    expect(n) {
      target = done + n
      return new Promise((r) => {
        resolve = r
      })
    },
  }
}

async function addMany(queue, n, opts = {}) {
  for (let i = 0; i < n; i += 10_000) {
    await queue.addBulk(Array.from({ length: Math.min(10_000, n - i) }, () => ({ name: 'noop', data: {}, opts })))
  }
}

async function setUp(concurrency = 32) {
  const name = queueName()
  const queue = new Queue(name, { connection })
  const counting = countingWorker(name, concurrency)
  counting.worker.run()
  await counting.worker.waitUntilReady()
  const warm = counting.expect(WARMUP)
  await addMany(queue, WARMUP)
  await warm
  return { name, queue, ...counting }
}

async function tearDown({ queue, worker }) {
  await worker.close()
  await queue.obliterate({ force: true })
  await queue.close()
}

export default {
  name: 'bullmq',
  group: 'redis',
  node: 'node20',
  scenarios: {
    async drain({ tasks, concurrency }) {
      // The drain's worker runs nothing before it is timed; a throwaway queue runs the warm-up
      // batch first, so that the drain runs warm code, as every system's does.
      await tearDown(await setUp(concurrency))
      const name = queueName()
      const queue = new Queue(name, { connection })
      const counting = countingWorker(name, concurrency)
      try {
        const t0 = nowMs()
        await addMany(queue, tasks)
        const submitMs = nowMs() - t0
        const drained = counting.expect(tasks)
        const start = nowMs()
        counting.worker.run()
        await drained
        return { tasksPerSec: perSecond(tasks, nowMs() - start), submitPerSec: perSecond(tasks, submitMs) }
      } finally {
        await tearDown({ queue, worker: counting.worker })
      }
    },

    async latency({ roundTrips }) {
      const ctx = await setUp()
      const events = new QueueEvents(ctx.name, { connection })
      await events.waitUntilReady()
      try {
        const samples = []
        for (let i = 0; i < LATENCY_WARMUP + roundTrips; i++) {
          const start = nowUs()
          const job = await ctx.queue.add('noop', {})
          await job.waitUntilFinished(events)
          if (i >= LATENCY_WARMUP) samples.push(nowUs() - start)
        }
        return latencyPercentiles(samples)
      } finally {
        await events.close()
        await tearDown(ctx)
      }
    },

    /** The waiting jobs are delayed by an hour: they sit in BullMQ's delayed set. */
    async backlog({ fresh, waiting }) {
      const rounds = 5
      const empty = await setUp()
      const loaded = await setUp()
      try {
        await addMany(loaded.queue, waiting, { delay: 3_600_000 })
        return await alternatingBacklog(empty, loaded, rounds, async (side) => {
          const drained = side.expect(fresh)
          const start = nowMs()
          await addMany(side.queue, fresh)
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
