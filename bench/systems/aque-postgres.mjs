/**
 * aque on its PostgreSQL broker (127.0.0.1:5432, database test), each scenario in a schema of
 * its own, dropped afterwards. Imports the built packages. Peers: graphile-worker.mjs and
 * pg-boss.mjs.
 */
import { randomBytes } from 'node:crypto'
import { task } from '@aque/core'
import { PostgresBroker } from '@aque/broker-postgres'
import pg from 'pg'
import { aqueScenarios, prototypes, timedDrain } from '../lib/aque-scenarios.mjs'
import { median } from '../lib/measure.mjs'

const SERVER = 'postgres://postgres@127.0.0.1:5432/test'

const noop = task('bench-noop', () => {})

/** @param {PostgresBroker} broker */
async function analyze(broker) {
  const client = new pg.Client({ connectionString: SERVER })
  await client.connect()
  try {
    await client.query(`ANALYZE "${broker.options.schema}".tasks`)
    await client.query(`ANALYZE "${broker.options.schema}".deps`)
  } finally {
    await client.end()
  }
}

export default {
  name: 'aque-postgres',
  group: 'postgres',
  node: 'node20',
  scenarios: aqueScenarios({
    async open() {
      const broker = new PostgresBroker(`${SERVER}?schema=aque_bench_${randomBytes(6).toString('hex')}`)
      await broker.init()
      return broker
    },
    noop,
    latencyWarmup: 300,
    backlogRounds: 5,
    submitChunk: 10_000,
    /** Also after ANALYZE: the planner then knows the backlog and must still read the readiness index. */
    async afterBacklog({ empty, loaded, fresh, rounds }) {
      await analyze(/** @type {PostgresBroker} */ (loaded.broker))
      await analyze(/** @type {PostgresBroker} */ (empty.broker))
      /** @type {number[]} */
      const times = []
      for (let r = 0; r < rounds; r++) {
        await loaded.queue.submitMany(/** @type {never} */ (prototypes(noop, fresh)))
        times.push(await timedDrain(loaded.worker, fresh))
      }
      return { analyzedMs: median(times) }
    },
  }),
}
