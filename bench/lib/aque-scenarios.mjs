/**
 * The scenarios every aque system runs, once for all brokers: a system module gives how to
 * open a fresh, isolated broker and its few differences (warm-ups, rounds, what to do after
 * the backlog is measured), and gets `drain`, `latency`, `backlog`, `memory` and `shell` back.
 */
import { Queue, Worker } from '@aque/core'
import { xargsSeconds } from '../systems/xargs.mjs'
import { alternatingBacklog, latencyPercentiles, nowMs, nowUs, peakRssMB, perSecond, round2 } from './measure.mjs'

/**
 * @typedef {import('@aque/core').BaseBroker} Broker
 * @typedef {{ broker: Broker, queue: Queue, worker: Worker }} Setup
 * @typedef {object} AqueBench
 * @property {() => Promise<Broker>} open a fresh broker on isolated storage, `init()`ed
 * @property {unknown} noop the no-op function (a task() definition, or a closure on memory)
 * @property {number} [warmup] tasks run before any timing @default 500
 * @property {number} latencyWarmup round trips before the timed ones
 * @property {number} backlogRounds timed rounds per side of the backlog scenario
 * @property {number} [submitChunk] most tasks per submitMany when filling the backlog @default all at once
 * @property {(sides: { empty: Setup, loaded: Setup, fresh: number, rounds: number }) => Promise<Record<string, number>>} [afterBacklog]
 *   more metrics measured on the same two sides (e.g. `analyzedMs` after ANALYZE, whose ratio to
 *   the empty side is added as `analyzedRatio`)
 */

/**
 * @param {unknown} func
 * @param {number} n
 * @param {object} [extra] fields added to each prototype
 */
export function prototypes(func, n, extra = {}) {
  return Array.from({ length: n }, () => ({ func, ...extra }))
}

/**
 * Runs the worker to the end and checks it ran exactly `expected` tasks.
 * @param {Worker} worker
 * @param {number} expected
 * @returns {Promise<number>} elapsed ms
 */
export async function timedDrain(worker, expected) {
  const start = nowMs()
  const ran = await worker.runToEnd()
  const ms = nowMs() - start
  if (ran !== expected) throw new Error(`the worker ran ${ran} tasks, expected ${expected}`)
  return ms
}

/** @param {Broker} broker */
export async function tearDown(broker) {
  await broker.destroy()
  await broker.close()
}

/**
 * @param {AqueBench} bench
 */
export function aqueScenarios(bench) {
  const { noop } = bench
  /** @param {number} n @param {object} [extra] */
  const protos = (n, extra) => prototypes(noop, n, extra)

  /** A fresh broker with its queue and worker, run through a warm-up batch. @returns {Promise<Setup>} */
  async function setUp(concurrency = 32) {
    const broker = await bench.open()
    await broker.ready()
    const queue = new Queue({ broker })
    const worker = new Worker(broker, { concurrency })
    await queue.submitMany(/** @type {never} */ (protos(bench.warmup ?? 500)))
    await worker.runToEnd()
    return { broker, queue, worker }
  }

  /** @param {Setup} side @param {number} n @param {object} [extra] */
  async function submitInChunks(side, n, extra) {
    const chunk = bench.submitChunk ?? n
    for (let i = 0; i < n; i += chunk) await side.queue.submitMany(/** @type {never} */ (protos(Math.min(chunk, n - i), extra)))
  }

  return {
    /** @param {{ tasks: number, concurrency: number }} options */
    async drain({ tasks, concurrency }) {
      const { broker, queue, worker } = await setUp(concurrency)
      try {
        const batch = protos(tasks)
        const t0 = nowMs()
        await queue.submitMany(/** @type {never} */ (batch))
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
        for (let i = 0; i < bench.latencyWarmup + roundTrips; i++) {
          const start = nowUs()
          await (await queue.submit(/** @type {never} */ (noop))).result()
          if (i >= bench.latencyWarmup) samples.push(nowUs() - start)
        }
        return latencyPercentiles(samples)
      } finally {
        await worker.stop()
        await running
        await tearDown(broker)
      }
    },

    /**
     * Drains `fresh` tasks on an empty broker and on one where `waiting` tasks depend on a task
     * that stays running (claimed by another worker id with a long lease). Rounds alternate
     * between the two, after one unmeasured round each, so a busy spell of the machine lands
     * on both sides alike: the ratio isolates what the waiting tasks cost the dispatch.
     * @param {{ fresh: number, waiting: number }} options
     */
    async backlog({ fresh, waiting }) {
      const rounds = bench.backlogRounds
      const empty = await setUp()
      const loaded = await setUp()
      try {
        const [blocker] = await loaded.queue.submitMany(/** @type {never} */ (protos(1)))
        const claimed = await loaded.broker.claim({ worker: 'bench-blocker', limit: 1, leaseMs: 3_600_000 })
        if (claimed.tasks[0]?.id !== blocker?.id) throw new Error('could not hold the blocking task')
        await submitInChunks(loaded, waiting, { dependencies: [blocker] })
        const measured = await alternatingBacklog(empty, loaded, rounds, async (side) => {
          await side.queue.submitMany(/** @type {never} */ (protos(fresh)))
          return timedDrain(side.worker, fresh)
        })
        const more = bench.afterBacklog ? await bench.afterBacklog({ empty, loaded, fresh, rounds }) : {}
        /** @type {Record<string, number>} */
        const extra = Object.fromEntries(Object.entries(more).map(([k, v]) => [k, round2(v)]))
        if (typeof more.analyzedMs === 'number') extra.analyzedRatio = round2(more.analyzedMs / measured.emptyMs)
        return { ...measured, ...extra }
      } finally {
        await tearDown(empty.broker)
        await tearDown(loaded.broker)
      }
    },

    /**
     * Wall time of `commands` shell tasks running `true` on one worker of `cpus` CPUs, from
     * submission to the last exit: the cost of starting processes. `xargs -P cpus` runs the
     * same commands in this child right after (`xargsSeconds`), so `ratio` compares the two
     * under the same load (targets: ≤ 3 on memory, ≤ 4 on Redis and PostgreSQL).
     * @param {{ commands: number, cpus: number }} options
     */
    async shell({ commands, cpus }) {
      const broker = await bench.open()
      await broker.ready()
      const queue = new Queue({ broker })
      const worker = new Worker(broker, { cpus })
      const batch = (/** @type {number} */ n) => Array.from({ length: n }, () => ({ pattern: 'shell', args: ['true'] }))
      try {
        // Warms the worker and starts its spawner processes.
        await queue.submitMany(/** @type {never} */ (batch(50)))
        await worker.runToEnd()
        const start = nowMs()
        await queue.submitMany(/** @type {never} */ (batch(commands)))
        await timedDrain(worker, commands)
        const seconds = Math.round(nowMs() - start) / 1000
        const xargs = await xargsSeconds(commands, cpus)
        return { seconds, xargsSeconds: xargs, ratio: round2(seconds / xargs) }
      } finally {
        await tearDown(broker)
      }
    },

    /** @param {{ tasks: number }} options */
    async memory({ tasks }) {
      const { broker, queue, worker } = await setUp()
      try {
        await submitInChunks({ broker, queue, worker }, tasks)
        await timedDrain(worker, tasks)
        return { peakRssMB: peakRssMB() }
      } finally {
        await tearDown(broker)
      }
    },
  }
}
