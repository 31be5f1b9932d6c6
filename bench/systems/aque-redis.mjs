/**
 * aque on its Redis broker (127.0.0.1:6379), each scenario under its own key prefix, removed
 * afterwards. Imports the built packages. Peers: bullmq.mjs and bee-queue.mjs.
 */
import { randomBytes } from 'node:crypto'
import { task } from '@aque/core'
import { RedisBroker } from '@aque/broker-redis'
import { aqueScenarios } from '../lib/aque-scenarios.mjs'

export default {
  name: 'aque-redis',
  group: 'redis',
  node: 'node20',
  scenarios: aqueScenarios({
    async open() {
      const broker = new RedisBroker(`redis://127.0.0.1:6379/0?prefix=aque-bench-${randomBytes(6).toString('hex')}`)
      await broker.init()
      return broker
    },
    noop: task('bench-noop', () => {}),
    latencyWarmup: 1000,
    backlogRounds: 5,
    submitChunk: 10_000,
  }),
}
