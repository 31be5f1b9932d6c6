/**
 * pg-boss (Node 22) on the same PostgreSQL, each scenario in a schema of its own, dropped
 * afterwards. One worker (`work`, batchSize = concurrency). pg-boss has no
 * completion event a submitter can await, so latency polls `getJobById` as a user would.
 * "Waiting" jobs of the backlog start an hour ahead: pg-boss has no dependencies here.
 *
 * Timing matches aque's drain (lib/aque-scenarios.mjs): it starts once the batch is stored
 * (the insert is timed apart, as `submitPerSec`) and stops once every job ran and its
 * completion is committed (no due job is left unfinished), not when the last handler returns:
 * pg-boss completes a batch after its handler.
 */
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { alternatingBacklog, latencyPercentiles, nowMs, nowUs, perSecond } from '../lib/measure.mjs'

// The peer lives in bench/node22 (its own install, outside the workspace).
const require = createRequire(new URL('../node22/package.json', import.meta.url))
const { PgBoss } = require('pg-boss')
const pg = require('pg')

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
  const client = new pg.Client({ connectionString: SERVER })
  await client.connect()
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
  /** Due jobs not completed yet (a completed job stays, in state `completed`). */
  const left = async () =>
    Number((await client.query(`SELECT count(*) AS n FROM "${schema}".job WHERE name = $1 AND state <> 'completed' AND start_after <= now()`, [QUEUE])).rows[0].n)
  /** Resolves once `n` more jobs have run and every due job's completion is committed. */
  const ran = (n) => {
    const target = done + n
    const allRan = new Promise((resolve) => {
      onDone = () => {
        if (done >= target) resolve(undefined)
      }
    })
    return (async () => {
      await allRan
      while ((await left()) > 0) {}
      if (done !== target) throw new Error(`pg-boss ran ${done - target + n} jobs, expected ${n}`)
    })()
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
  return { boss, schema, client, ran, add }
}

/** @param {{ boss: { stop(o: object): Promise<void> }, schema: string, client: import('pg').Client }} side */
async function tearDown({ boss, schema, client }) {
  await boss.stop({ graceful: false, wait: true })
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
        const t0 = nowMs()
        await side.add(tasks)
        // Its worker is woken by the insert's NOTIFY, sent at commit: the drain starts here.
        const t1 = nowMs()
        await finished
        return { tasksPerSec: perSecond(tasks, nowMs() - t1), submitPerSec: perSecond(tasks, t1 - t0) }
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
          await side.add(fresh)
          const start = nowMs()
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
