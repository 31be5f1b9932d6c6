/**
 * Faults of the PostgreSQL broker, with real processes: a worker whose server connections are
 * terminated (pg_terminate_backend, found by the application_name the broker sets) while it
 * runs tasks, and a worker killed with SIGKILL in the middle of a task. Workers run the built
 * packages (dist/: `npm run build` first) in subprocesses; every execution is counted in a
 * table outside the queue's schema, written by the task through a connection of its own.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { PostgresBroker } from '@aque/broker-postgres'
import { Queue } from '@aque/core'
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { nap } from './fixtures/postgres-tasks.mjs'

const SERVER = 'postgres://postgres@127.0.0.1:5432/test'
const WORKER = fileURLToPath(new URL('./fixtures/postgres-worker.mjs', import.meta.url))
const children: ChildProcess[] = []
const cleanups: Array<() => Promise<void> | void> = []

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** A queue schema, a runs table and an admin connection of this test's own, removed afterwards. */
async function setup() {
  const token = randomBytes(4).toString('hex')
  const schema = `aque_e2e_${token}`
  const runsTable = `aque_e2e_runs_${token}`
  const admin = new pg.Client({ connectionString: SERVER })
  await admin.connect()
  await admin.query(`CREATE TABLE ${runsTable} (kind text NOT NULL, task_id bigint NOT NULL, attempt integer NOT NULL)`)
  const broker = new PostgresBroker(`${SERVER}?schema=${schema}`)
  await broker.init()
  cleanups.push(async () => {
    await broker.destroy()
    await broker.close()
    await admin.query(`DROP TABLE IF EXISTS ${runsTable}`)
    await admin.end()
  })
  const runs = async (kind: 'start' | 'end'): Promise<Map<number, number>> => {
    const { rows } = await admin.query(`SELECT task_id, count(*)::int AS n FROM ${runsTable} WHERE kind = $1 GROUP BY task_id`, [kind])
    return new Map(rows.map((r) => [Number(r.task_id), r.n as number]))
  }
  const startWorker = (name: string, concurrency: number, leaseMs: number): ChildProcess => {
    const child = spawn(process.execPath, [WORKER, `${SERVER}?schema=${schema}&application_name=${name}`, String(concurrency), String(leaseMs)], {
      env: { ...process.env, AQUE_E2E_RUNS_URL: SERVER, AQUE_E2E_RUNS_TABLE: runsTable },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    children.push(child)
    return child
  }
  return { token, broker, admin, runs, startWorker }
}

describe('postgres faults', () => {
  it('a worker whose connections are terminated while tasks run reconnects; every task completes exactly once', async () => {
    const { token, broker, admin, runs, startWorker } = await setup()
    const name = `aque-e2e-w-${token}`
    const futures = await new Queue({ broker }).submitMany(Array.from({ length: 150 }, (_, i) => ({ func: nap, args: [i, 30] })))
    startWorker(name, 8, 3000)
    await until('the worker to start tasks', async () => (await runs('start')).size > 5, 20_000)
    let terminated = 0
    for (let round = 0; round < 6; round++) {
      const { rows } = await admin.query('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [name])
      terminated += rows[0].n
      await sleep(150)
    }
    expect(terminated).toBeGreaterThan(0)
    await until('every task to succeed', async () => (await broker.counts()).success === futures.length, 60_000)
    for (const [i, f] of futures.entries()) expect(await f.result({ timeout: 10_000 })).toBe(i * 2)
    const ends = await runs('end')
    expect(ends.size).toBe(futures.length)
    for (const f of futures) expect(ends.get(f.id)).toBe(1)
  }, 90_000)

  it('a worker killed with SIGKILL mid-task loses it; another worker runs it after the lease', async () => {
    const { token, broker, runs, startWorker } = await setup()
    const future = await new Queue({ broker }).submit(nap, 21, 1500)
    const first = startWorker(`aque-e2e-a-${token}`, 2, 1000)
    await until('the first worker to start the task', async () => (await runs('start')).get(future.id) === 1, 20_000)
    first.kill('SIGKILL')
    await until('the first worker to die', () => first.signalCode === 'SIGKILL', 5000)
    startWorker(`aque-e2e-b-${token}`, 2, 1000)
    expect(await future.result({ timeout: 30_000 })).toBe(42)
    expect((await runs('start')).get(future.id)).toBe(2)
    expect((await runs('end')).get(future.id)).toBe(1)
    const task = await future.task()
    expect(task.attempt).toBe(2)
    expect(task.worker).toContain('/')
  }, 60_000)
})
