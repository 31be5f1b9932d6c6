/**
 * pg-boss (Node 22) on the same PostgreSQL, each scenario in a schema of its own, dropped
 * afterwards. One worker (`work`, batchSize = concurrency). pg-boss has no
 * completion event a submitter can await, so latency polls `getJobById` as a user would.
 * "Waiting" jobs of the backlog start an hour ahead: pg-boss has no dependencies here.
 */
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { alternatingBacklog, latencyPercentiles, nowMs, nowUs, perSecond } from '../lib/measure.mjs'

// The peer lives in bench/node22 (its own install, outside the workspace).
const require = createRequire(new URL('../node22/package.json', import.meta.url))
const { PgBoss } = require('pg-boss')

const SERVER = 'postgres://postgres@127.0.0.1:5432/test'
const QUEUE = 'bench'
const WARMUP = 500

/** A started boss on a schema of its own, with a worker counting finished jobs. */
async function setUp(concurrency = 32) {
  const schema = `pgboss_bench_${randomBytes(6).toString('hex')}`
  // LISTEN/NOTIFY on (an opt-in since 12.38): workers wake when a job is created instead of
  // at their next poll.
  const boss = new PgBoss({ connectionString: SERVER, schema, max: concurrency + 2, useListenNotify: true })
  boss.on('error', () => {})
  boss.on('warning', () => {})
  await boss.start()
  await boss.createQueue(QUEUE, { notify: true })
  let done = 0
  /** @type {(() => void) | null} */
  let onDone = null
  // Jobs fetched `concurrency` at a time and run together: pg-boss's own throughput setting.
  // Since 12.38 a worker waits out its polling interval after every fetch, full or not, unless
  // burstWhenBatchFull (without it: one batch per 0.5 s, 64 jobs/s).
  await boss.work(QUEUE, { batchSize: concurrency, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true }, async (jobs) => {
    done += jobs.length
    onDone?.()
  })
  const ran = (n) => {
    const target = done + n
    return new Promise((resolve) => {
      onDone = () => {
        if (done >= target) resolve(undefined)
      }
    })
  }
  const add = async (n, startAfter) => {
    for (let i = 0; i < n; i += 10_000) {
      const count = Math.min(10_000, n - i)
      await boss.insert(QUEUE, Array.from({ length: count }, () => ({ data: {}, ...(startAfter ? { startAfter } : {}) })))
    }
  }
  const warm = ran(WARMUP)
  await add(WARMUP)
  await warm
  return { boss, schema, ran, add }
}

async function tearDown({ boss, schema }) {
  await boss.stop({ graceful: false, wait: true })
  const pg = require('pg')
  const client = new pg.Client({ connectionString: SERVER })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await client.end()
}

export default {
  name: 'pg-boss',
  group: 'postgres',
  node: 'node22',
  scenarios: {
    /** @param {{ tasks: number, concurrency: number }} options */
    async drain({ tasks, concurrency }) {
      const side = await setUp(concurrency)
      try {
        const finished = side.ran(tasks)
        const start = nowMs()
        await side.add(tasks)
        await finished
        return { tasksPerSec: perSecond(tasks, nowMs() - start) }
      } finally {
        await tearDown(side)
      }
    },

    /** @param {{ roundTrips: number }} options */
    async latency({ roundTrips }) {
      const side = await setUp()
      try {
        /** @type {number[]} */
        const samples = []
        for (let i = 0; i < 100 + roundTrips; i++) {
          const start = nowUs()
          const id = await side.boss.send(QUEUE, {})
          for (;;) {
            const job = await side.boss.getJobById(QUEUE, id)
            if (job?.state === 'completed') break
          }
          if (i >= 100) samples.push(nowUs() - start)
        }
        return latencyPercentiles(samples)
      } finally {
        await tearDown(side)
      }
    },

    /** @param {{ fresh: number, waiting: number }} options */
    async backlog({ fresh, waiting }) {
      const rounds = 5
      const empty = await setUp()
      const loaded = await setUp()
      try {
        await loaded.add(waiting, new Date(Date.now() + 3_600_000))
        return await alternatingBacklog(empty, loaded, rounds, async (side) => {
          const finished = side.ran(fresh)
          const start = nowMs()
          await side.add(fresh)
          await finished
          return nowMs() - start
        })
      } finally {
        await tearDown(empty)
        await tearDown(loaded)
      }
    },
  },
}
