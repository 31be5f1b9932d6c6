/**
 * Graphile Worker (Node 22) on the same PostgreSQL, each scenario in a schema of its own,
 * dropped afterwards. Drain is measured twice: plain, and batched (local queue of 500 jobs and
 * completeJobBatchDelay 0, its own throughput setting), reported as `tasksPerSec` and
 * `batchedTasksPerSec`. Graphile has no completion event a submitter can await, so latency
 * polls the job table as a user would (a finished job is deleted). "Waiting" jobs of the
 * backlog are jobs scheduled an hour ahead: Graphile has no dependencies.
 */
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { alternatingBacklog, latencyPercentiles, nowMs, nowUs, perSecond } from '../lib/measure.mjs'

// The peer lives in bench/node22 (its own install, outside the workspace).
const require = createRequire(new URL('../node22/package.json', import.meta.url))
const { Logger, makeWorkerUtils, run } = require('graphile-worker')
const pg = require('pg')

const SERVER = 'postgres://postgres@127.0.0.1:5432/test'
const WARMUP = 500
/** Its per-job log lines would cost it time and mix with the child's JSON output. */
const logger = new Logger(() => () => {})

/**
 * A schema with Graphile's tables and a runner on it (not started until `start()`).
 * @param {{ batched?: boolean, concurrency?: number }} options
 */
async function setUp({ batched = false, concurrency = 32 } = {}) {
  const schema = `graphile_bench_${randomBytes(6).toString('hex')}`
  const preset = {
    worker: {
      connectionString: SERVER,
      schema,
      concurrentJobs: concurrency,
      pollInterval: 1000,
      // Its advice: at least one connection per concurrent job.
      maxPoolSize: concurrency + 2,
      ...(batched ? { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } : {}),
    },
  }
  const utils = await makeWorkerUtils({ preset, logger })
  await utils.migrate()
  let done = 0
  /** @type {(() => void) | null} */
  let onDone = null
  const runner = await run({
    preset,
    logger,
    noHandleSignals: true,
    taskList: {
      noop: async () => {
        done++
        onDone?.()
      },
    },
  })
  /** Resolves once `n` more jobs have run. */
  const ran = (n) => {
    const target = done + n
    return new Promise((resolve) => {
      onDone = () => {
        if (done >= target) resolve(undefined)
      }
    })
  }
  const add = async (n, runAt) => {
    for (let i = 0; i < n; i += 10_000) {
      const count = Math.min(10_000, n - i)
      await utils.addJobs(Array.from({ length: count }, () => ({ identifier: 'noop', payload: {}, ...(runAt ? { runAt } : {}) })))
    }
  }
  const warm = ran(WARMUP)
  await add(WARMUP)
  await warm
  return { schema, utils, runner, ran, add }
}

async function tearDown({ schema, utils, runner }) {
  await runner.stop()
  await utils.release()
  const client = new pg.Client({ connectionString: SERVER })
  await client.connect()
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await client.end()
}

/** Time to drain `tasks` jobs added in one batch (the runner picks them up as they land). */
async function drainOnce(tasks, concurrency, batched) {
  const side = await setUp({ batched, concurrency })
  try {
    const finished = side.ran(tasks)
    // Added while the runner is idle-waiting, as one batch; timing starts at the insert.
    const start = nowMs()
    await side.add(tasks)
    await finished
    return perSecond(tasks, nowMs() - start)
  } finally {
    await tearDown(side)
  }
}

export default {
  name: 'graphile-worker',
  group: 'postgres',
  node: 'node22',
  scenarios: {
    /** @param {{ tasks: number, concurrency: number }} options */
    async drain({ tasks, concurrency }) {
      const plain = await drainOnce(tasks, concurrency, false)
      const batched = await drainOnce(tasks, concurrency, true)
      return { tasksPerSec: plain, batchedTasksPerSec: batched }
    },

    /** @param {{ roundTrips: number }} options */
    async latency({ roundTrips }) {
      const side = await setUp()
      const client = new pg.Client({ connectionString: SERVER })
      await client.connect()
      try {
        /** @type {number[]} */
        const samples = []
        for (let i = 0; i < 100 + roundTrips; i++) {
          const start = nowUs()
          const job = await side.utils.addJob('noop', {})
          // Done when the job row is gone (Graphile deletes a job that succeeded).
          for (;;) {
            const { rows } = await client.query(`SELECT 1 FROM "${side.schema}"._private_jobs WHERE id = $1`, [job.id])
            if (rows.length === 0) break
          }
          if (i >= 100) samples.push(nowUs() - start)
        }
        return latencyPercentiles(samples)
      } finally {
        await client.end()
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
