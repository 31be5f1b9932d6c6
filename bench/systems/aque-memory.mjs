/**
 * aque on its in-process memory broker: the cost of aque's own code (facades, validation,
 * codec, worker loop, broker bookkeeping) without any network. Imports the built packages.
 */
import { MemoryBroker } from '@aque/broker-memory'
import { Queue, Worker } from '@aque/core'
import { aqueScenarios, tearDown, timedDrain } from '../lib/aque-scenarios.mjs'
import { nowMs } from '../lib/measure.mjs'

export default {
  name: 'aque-memory',
  group: 'memory',
  node: 'node20',
  scenarios: {
    ...aqueScenarios({
      async open() {
        const broker = new MemoryBroker()
        await broker.init()
        return broker
      },
      /** A closure: the memory broker runs them in this process. */
      noop: () => {},
      /**
       * A few hundred round trips leave the path half-optimised (p50 ≈ 45–55 µs at 500 vs
       * ≈ 15–25 µs from 3,000 on): a long-lived worker runs warm code.
       */
      latencyWarmup: 3000,
      /** One round is only tens of ms: more of them. */
      backlogRounds: 9,
    }),

    /**
     * Wall time of `commands` shell tasks running `true` on one worker of `cpus` CPUs, from
     * submission to the last exit: the cost of starting processes (compare the xargs system).
     * @param {{ commands: number, cpus: number }} options
     */
    async shell({ commands, cpus }) {
      const broker = new MemoryBroker()
      const queue = new Queue({ broker })
      const worker = new Worker(broker, { cpus })
      const batch = (/** @type {number} */ n) => Array.from({ length: n }, () => ({ pattern: 'shell', args: ['true'] }))
      try {
        await queue.submitMany(batch(20))
        await worker.runToEnd()
        const start = nowMs()
        await queue.submitMany(batch(commands))
        await timedDrain(worker, commands)
        return { seconds: Math.round(nowMs() - start) / 1000 }
      } finally {
        await tearDown(broker)
      }
    },
  },
}
