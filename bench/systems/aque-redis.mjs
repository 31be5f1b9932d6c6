/**
 * aque on its Redis broker (127.0.0.1:6379), each scenario under its own key prefix, removed
 * afterwards. Imports the built packages. Peers: bullmq.mjs and bee-queue.mjs.
 */
import { randomBytes } from 'node:crypto'
import { Queue, task, Worker } from '@aque/core'
import { RedisBroker } from '@aque/broker-redis'
import { latencyPercentiles, median, nowMs, nowUs, perSecond } from '../lib/measure.mjs'

/** Tasks run before any timing, so the JIT has compiled the hot paths. */
const WARMUP = 500
const LATENCY_WARMUP = 1000

/** The task every scenario runs: it does nothing, so only queue overhead is measured. */
const noop = task('bench-noop', () => {})

/** @param {number} concurrency */
async function setUp(concurrency = 32) {
  const broker = new RedisBroker(`redis://127.0.0.1:6379/0?prefix=aque-bench-${randomBytes(6).toString('hex')}`)
  await broker.init()
  await broker.ready()
  const queue = new Queue({ broker })
  const worker = new Worker(broker, { concurrency })
  await queue.submitMany(prototypes(WARMUP))
  await worker.runToEnd()
  return { broker, queue, worker }
}

/** @param {RedisBroker} broker */
async function tearDown(broker) {
  await broker.destroy()
  await broker.close()
}

/**
 * @param {number} n
 * @param {object} [extra] fields added to each prototype
 */
function prototypes(n, extra = {}) {
  return Array.from({ length: n }, () => ({ func: noop, ...extra }))
}

/**
 * Runs the worker to the end and checks it ran exactly `expected` tasks.
 * @param {Worker} worker
 * @param {number} expected
 * @returns {Promise<number>} elapsed ms
 */
async function timedDrain(worker, expected) {
  const start = nowMs()
  const ran = await worker.runToEnd()
  const ms = nowMs() - start
  if (ran !== expected) throw new Error(`the worker ran ${ran} tasks, expected ${expected}`)
  return ms
}

export default {
  name: 'aque-redis',
  group: 'redis',
  node: 'node20',
  scenarios: {
    /** @param {{ tasks: number, concurrency: number }} options */
    async drain({ tasks, concurrency }) {
      const { broker, queue, worker } = await setUp(concurrency)
      try {
        const t0 = nowMs()
        await queue.submitMany(prototypes(tasks))
        const submitMs = nowMs() - t0
        const drainMs = await timedDrain(worker, tasks)
        return { tasksPerSec: perSecond(tasks, drainMs), submitPerSec: perSecond(tasks, submitMs) }
      } finally {
        await tearDown(broker)
      }
    },

    /** @param {{ roundTrips: number }} options */
    async latency({ roundTrips }) {
      const { broker, queue, worker } = await setUp()
      const running = worker.runForever()
      try {
        /** @type {number[]} */
        const samples = []
        for (let i = 0; i < LATENCY_WARMUP + roundTrips; i++) {
          const start = nowUs()
          await (await queue.submit(noop)).result()
          if (i >= LATENCY_WARMUP) samples.push(nowUs() - start)
        }
        return latencyPercentiles(samples)
      } finally {
        await worker.stop()
        await running
        await tearDown(broker)
      }
    },

    /**
     * Drains `fresh` tasks on an empty prefix and on one where `waiting` tasks depend on a task
     * that stays running (claimed by another worker id with a long lease). Rounds alternate
     * between the two, so a busy spell of the machine lands on both sides alike.
     * @param {{ fresh: number, waiting: number }} options
     */
    async backlog({ fresh, waiting }) {
      const rounds = 5
      const empty = await setUp()
      const loaded = await setUp()
      try {
        const [blocker] = await loaded.queue.submitMany([{ func: noop }])
        const claimed = await loaded.broker.claim({ worker: 'bench-blocker', limit: 1, leaseMs: 3_600_000 })
        if (claimed.tasks[0]?.id !== blocker.id) throw new Error('could not hold the blocking task')
        for (let i = 0; i < waiting; i += 10_000) {
          await loaded.queue.submitMany(prototypes(Math.min(10_000, waiting - i), { dependencies: [blocker] }))
        }
        /** @type {number[]} */
        const emptyTimes = []
        /** @type {number[]} */
        const loadedTimes = []
        for (let r = -1; r < rounds; r++) {
          for (const [side, times] of /** @type {const} */ ([
            [empty, emptyTimes],
            [loaded, loadedTimes],
          ])) {
            await side.queue.submitMany(prototypes(fresh))
            const ms = await timedDrain(side.worker, fresh)
            if (r >= 0) times.push(ms)
          }
        }
        const emptyMs = median(emptyTimes)
        const backlogMs = median(loadedTimes)
        const round = (/** @type {number} */ x) => Math.round(x * 100) / 100
        return { emptyMs: round(emptyMs), backlogMs: round(backlogMs), ratio: round(backlogMs / emptyMs) }
      } finally {
        await tearDown(empty.broker)
        await tearDown(loaded.broker)
      }
    },
  },
}
