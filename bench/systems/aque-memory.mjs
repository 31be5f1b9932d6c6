/**
 * aque on its in-process memory broker: the cost of aque's own code (facades, validation,
 * codec, worker loop, broker bookkeeping) without any network. Imports the built packages.
 */
import { Queue, Worker } from '@aque/core'
import { MemoryBroker } from '@aque/broker-memory'
import { latencyPercentiles, median, nowMs, nowUs, peakRssMB, perSecond } from '../lib/measure.mjs'

/** Tasks run before any timing, so the JIT has compiled the hot paths. */
const WARMUP = 500
/**
 * Round trips before the timed ones. A few hundred leave the round trip half-optimised
 * (p50 ≈ 45–55 µs at 500 vs ≈ 25 µs from 3,000 on): a long-lived worker runs warm code.
 */
const LATENCY_WARMUP = 3000

/** The task every scenario runs: it does nothing, so only queue overhead is measured. */
function noop() {}

/**
 * A fresh broker with its queue, run through a warm-up batch.
 * @param {number} concurrency
 */
async function setUp(concurrency = 32) {
  const broker = new MemoryBroker()
  await broker.init()
  const queue = new Queue({ broker })
  const worker = new Worker(broker, { concurrency })
  await queue.submitMany(prototypes(WARMUP))
  await worker.runToEnd()
  return { broker, queue, worker }
}

/** @param {MemoryBroker} broker */
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
  name: 'aque-memory',
  group: 'memory',
  node: 'node20',
  scenarios: {
    /** @param {{ tasks: number, concurrency: number }} options */
    async drain({ tasks, concurrency }) {
      const { broker, queue, worker } = await setUp(concurrency)
      try {
        const batch = prototypes(tasks)
        const t0 = nowMs()
        await queue.submitMany(batch)
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
     * Wall time of `commands` shell tasks running `true` on one worker of `cpus` CPUs, from
     * submission to the last exit: the cost of starting processes (compare the xargs system).
     * @param {{ commands: number, cpus: number }} options
     */
    async shell({ commands, cpus }) {
      const broker = new MemoryBroker()
      const queue = new Queue({ broker })
      const worker = new Worker(broker, { cpus })
      try {
        await queue.submitMany(Array.from({ length: 20 }, () => ({ pattern: 'shell', args: ['true'] })))
        await worker.runToEnd()
        const start = nowMs()
        await queue.submitMany(Array.from({ length: commands }, () => ({ pattern: 'shell', args: ['true'] })))
        await timedDrain(worker, commands)
        return { seconds: Math.round(nowMs() - start) / 1000 }
      } finally {
        await tearDown(broker)
      }
    },

    /**
     * Drains `fresh` tasks on an empty broker and on one where `waiting` tasks sit behind a
     * dependency that stays running (claimed by another worker id with a long lease). Rounds
     * alternate between the two brokers (one round is only tens of ms), after one unmeasured
     * round each, so a busy spell of the machine or the GC of the shared heap lands on both
     * sides alike: the ratio isolates what the waiting tasks cost the broker's dispatch.
     * @param {{ fresh: number, waiting: number }} options
     */
    async backlog({ fresh, waiting }) {
      const rounds = 9
      const empty = await setUp()
      const loaded = await setUp()
      try {
        const [blocker] = await loaded.queue.submitMany([{ func: noop }])
        const claimed = await loaded.broker.claim({ worker: 'bench-blocker', limit: 1, leaseMs: 3_600_000 })
        if (claimed.tasks[0]?.id !== blocker.id) throw new Error('could not hold the blocking task')
        await loaded.queue.submitMany(prototypes(waiting, { dependencies: [blocker] }))
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

    /** @param {{ tasks: number }} options */
    async memory({ tasks }) {
      const { broker, queue, worker } = await setUp()
      try {
        await queue.submitMany(prototypes(tasks))
        await timedDrain(worker, tasks)
        return { peakRssMB: peakRssMB() }
      } finally {
        await tearDown(broker)
      }
    },
  },
}
