/**
 * The claim cycle of a PostgreSQL drain (10,000 no-op tasks, one worker, concurrency 32, as
 * the bench): each claim's send time, the gap since the previous reply, its round trip, the
 * limit asked and the tasks got, and the worker's state when it was sent (tasks waiting claimed
 * ahead, runs, finishes riding along). Around the drain: the time the broker's server processes
 * and this process's main thread spent on a CPU and waiting for one (/proc schedstat): on a
 * 2-CPU machine, whether they wait for each other or for a CPU.
 *
 *   node bench/profiles/postgres-claim-timeline.mjs [--prefetch N] [--show 40]
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { PostgresBroker } from '@aque/broker-postgres'
import { Queue, Worker, task } from '@aque/core'
import pg from 'pg'

const { values: opts } = parseArgs({ options: { prefetch: { type: 'string' }, show: { type: 'string', default: '40' } } })
const SERVER = 'postgres://postgres@127.0.0.1:5432/test'
const noop = task('bench-noop', () => {})
const schema = `aque_timeline_${randomBytes(6).toString('hex')}`
const broker = new PostgresBroker(`${SERVER}?schema=${schema}&application_name=${schema}`)
await broker.init()
await broker.ready()
const queue = new Queue({ broker })
const worker = new Worker(broker, { concurrency: 32, ...(opts.prefetch ? { prefetch: Number(opts.prefetch) } : {}) })
await queue.submitMany(Array.from({ length: 500 }, () => ({ func: noop })))
await worker.runToEnd()
await queue.submitMany(Array.from({ length: 10_000 }, () => ({ func: noop })))

const now = () => performance.now()
/** @type {{ sent: number, replied: number, limit: number, got: number, waiting: number, running: number, finishing: number }[]} */
const claims = []
// The private fields read here are the worker's claim-ahead queue and runs, and the broker's
// finish batcher: this is a diagnostic, not an API.
const ahead = Reflect.get(worker, 'ahead')
const runs = Reflect.get(worker, 'running')
const finisher = Reflect.get(broker, 'finisher')
const claim = broker._claim.bind(broker)
broker._claim = async (request) => {
  const entry = { sent: now(), replied: 0, limit: request.limit, got: 0, waiting: ahead.size, running: runs.size, finishing: finisher.pending }
  const result = await claim(request)
  entry.replied = now()
  entry.got = result.tasks.length
  claims.push(entry)
  return result
}

const admin = new pg.Client({ connectionString: SERVER })
await admin.connect()
const backends = (await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [schema])).rows.map((r) => r.pid)
/** [ns on a CPU, ns waiting for one] of a thread. */
const sched = (path) => readFileSync(path, 'utf8').split(' ').map(Number)
const main = `/proc/self/task/${process.pid}/schedstat`
const before = new Map(backends.map((pid) => [pid, sched(`/proc/${pid}/schedstat`)]))
const main0 = sched(main)
const t0 = now()
const ran = await worker.runToEnd()
const wall = now() - t0
const ms = (ns) => Math.round(ns / 1e6)
console.log(`ran ${ran} tasks in ${Math.round(wall)} ms (${Math.round((ran * 1000) / wall)} tasks/s), ${claims.length} claims`)
for (const pid of backends) {
  const [a, b] = [before.get(pid) ?? [0, 0], sched(`/proc/${pid}/schedstat`)]
  if (b[0] - a[0] > 1e6) console.log(`server process ${pid}: on a CPU ${ms(b[0] - a[0])} ms, waiting for one ${ms(b[1] - a[1])} ms`)
}
const main1 = sched(main)
console.log(`node main thread: on a CPU ${ms(main1[0] - main0[0])} ms, waiting for one ${ms(main1[1] - main0[1])} ms`)
let previous = t0
for (const c of claims.slice(0, Number(opts.show))) {
  console.log(
    `send +${(c.sent - t0).toFixed(1)} ms, gap ${(c.sent - previous).toFixed(1)}, round trip ${(c.replied - c.sent).toFixed(1)}: limit ${c.limit}, got ${c.got}; waiting ${c.waiting}, runs ${c.running}, finishes along ${c.finishing}`,
  )
  previous = c.replied
}
await admin.end()
await broker.destroy()
await broker.close()
