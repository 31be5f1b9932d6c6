/**
 * Graphile Worker (Node 22) on the same PostgreSQL, each scenario in a schema of its own,
 * dropped afterwards. Drain is measured twice: plain, and batched (local queue of 500 jobs and
 * completeJobBatchDelay 0, its own throughput setting), reported as `tasksPerSec` and
 * `batchedTasksPerSec`. Graphile has no completion event a submitter can await, so latency
 * polls the job table as a user would (a finished job is deleted). "Waiting" jobs of the
 * backlog are jobs scheduled an hour ahead: Graphile has no dependencies.
 *
 * Timing matches aque's drain (lib/aque-scenarios.mjs): it starts once the batch is stored
 * (the insert is timed apart, as `submitPerSec`) and stops once every job ran and its
 * completion is committed (the job table is empty), not when the last job function returns:
 * batched completions are still in flight then.
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
 * A schema with Graphile's tables, migrated, and no runner yet. Every schema a scenario uses
 * must be migrated before any runner starts: a migration from scratch sends a "breaking
 * migration" NOTIFY on the channel `worker:migrate`, which is not per schema, and every
 * running runner on the server then shuts itself down (this hung the backlog scenario).
 * @param {{ batched?: boolean, concurrency?: number }} options
 */
async function prepare({ batched = false, concurrency = 32 } = {}) {
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
  const client = new pg.Client({ connectionString: SERVER })
  await client.connect()
  return { schema, preset, utils, client }
}

/**
 * Starts a runner on a prepared schema, counting the jobs it runs, and warms it up.
 * @param {Awaited<ReturnType<typeof prepare>>} prepared
 */
async function start({ schema, preset, utils, client }) {
  let done = 0
  let failed = 0
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
  runner.events.on('job:error', () => failed++)
  /** Jobs not yet completed in the database (a completed job is deleted). */
  const left = async () => Number((await client.query(`SELECT count(*) AS n FROM "${schema}"._private_jobs WHERE run_at <= now()`)).rows[0].n)
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
      if (failed > 0) throw new Error(`${failed} graphile jobs failed`)
      if (done !== target) throw new Error(`graphile ran ${done - target + n} jobs, expected ${n}`)
    })()
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
  return { schema, utils, client, runner, ran, add }
}

/**
 * A prepared schema with its runner started, or nothing left behind if it could not start.
 * @param {{ batched?: boolean, concurrency?: number }} [options]
 */
async function startFresh(options) {
  const prepared = await prepare(options)
  try {
    return await start(prepared)
  } catch (err) {
    await tearDown(prepared)
    throw err
  }
}

/** @param {{ schema: string, utils: { release(): Promise<void> }, client: import('pg').Client, runner?: { stop(): Promise<void> } }} side */
async function tearDown({ schema, utils, client, runner }) {
  await runner?.stop()
  await utils.release()
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await client.end()
}

/**
 * Drains `tasks` jobs added in one batch to an idle, warm runner.
 * @returns {Promise<{ tasksPerSec: number, submitPerSec: number }>}
 */
async function drainOnce(tasks, concurrency, batched) {
  const side = await startFresh({ batched, concurrency })
  try {
    const finished = side.ran(tasks)
    const t0 = nowMs()
    await side.add(tasks)
    // The runner is woken by the insert's NOTIFY, sent at its commit, so it starts at about
    // the moment the insert returns: the drain is timed from there.
    const t1 = nowMs()
    await finished
    return { tasksPerSec: perSecond(tasks, nowMs() - t1), submitPerSec: perSecond(tasks, t1 - t0) }
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
      // Batched first: each drain gets a fresh runner and the same 500-job warm-up as every
      // system's, and the batched one (the figure compared) must not also run on code that a
      // 10,000-job plain drain before it had warmed.
      const batched = await drainOnce(tasks, concurrency, true)
      const plain = await drainOnce(tasks, concurrency, false)
      return { tasksPerSec: plain.tasksPerSec, batchedTasksPerSec: batched.tasksPerSec, submitPerSec: batched.submitPerSec }
    },

    /** @param {{ roundTrips: number }} options */
    async latency({ roundTrips }) {
      const side = await startFresh()
      try {
        /** @type {number[]} */
        const samples = []
        for (let i = 0; i < 100 + roundTrips; i++) {
          const begin = nowUs()
          const job = await side.utils.addJob('noop', {})
          // Done when the job row is gone (Graphile deletes a job that succeeded).
          for (;;) {
            const { rows } = await side.client.query(`SELECT 1 FROM "${side.schema}"._private_jobs WHERE id = $1`, [job.id])
            if (rows.length === 0) break
          }
          if (i >= 100) samples.push(nowUs() - begin)
        }
        return latencyPercentiles(samples)
      } finally {
        await tearDown(side)
      }
    },

    /** @param {{ fresh: number, waiting: number }} options */
    async backlog({ fresh, waiting }) {
      const rounds = 5
      const prepared = [await prepare(), await prepare()]
      /** @type {Awaited<ReturnType<typeof start>>[]} */
      const sides = []
      try {
        for (const p of prepared) sides.push(await start(p))
        const [empty, loaded] = sides
        await loaded.add(waiting, new Date(Date.now() + 3_600_000))
        return await alternatingBacklog(empty, loaded, rounds, async (side) => {
          const finished = side.ran(fresh)
          await side.add(fresh)
          const begin = nowMs()
          await finished
          return nowMs() - begin
        })
      } finally {
        for (const [i, p] of prepared.entries()) await tearDown(sides[i] ?? p)
      }
    },
  },
}
