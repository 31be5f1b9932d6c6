/**
 * Where aque-postgres's drain spends its time: the bench's drain (10,000 no-op tasks submitted
 * in one batch, one worker, concurrency 32) with, around the drain alone, this process's CPU,
 * the PostgreSQL server's CPU (read from /proc, so only for a server on this machine, and
 * counting whatever else uses it at the time), the claims and finishes sent (count, tasks per
 * call, ms from send to reply) and the server time of each plpgsql function
 * (pg_stat_user_functions, with track_functions on for this broker's connections).
 * With `--profile FILE`, a V8 CPU profile of the drain alone is written to FILE (read it with
 * bench/lib/profile-summary.mjs).
 *   node bench/profiles/postgres-drain-split.mjs [--tasks 10000] [--concurrency 32] [--prefetch N] [--profile FILE]
 */
import { randomBytes } from 'node:crypto'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { parseArgs } from 'node:util'
import { PostgresBroker } from '@aque/broker-postgres'
import { Queue, Worker, task } from '@aque/core'
import pg from 'pg'

const SERVER = 'postgres://postgres@127.0.0.1:5432/test'
const { values: opts } = parseArgs({ options: { tasks: { type: 'string', default: '10000' }, concurrency: { type: 'string', default: '32' }, prefetch: { type: 'string' }, profile: { type: 'string' } } })
const tasks = Number(opts.tasks)
const concurrency = Number(opts.concurrency)
const noop = task('bench-noop', () => {})
const now = () => Number(process.hrtime.bigint()) / 1e6

/** CPU seconds of every process named postgres, reaped backends included (via the postmaster). */
function serverCpu() {
  let ticks = 0
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100
}

/** CPU seconds of this process's main thread (the JS thread; GC and I/O helper threads excluded). */
function mainThreadCpu() {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

/** Wraps `obj[name]` (an async method) to count calls, items per call and ms per call. */
function meter(obj, name, itemsOf) {
  const stats = { calls: 0, items: 0, ms: 0, on: false }
  const original = obj[name].bind(obj)
  obj[name] = async (...args) => {
    if (!stats.on) return original(...args)
    const t = now()
    try {
      const out = await original(...args)
      stats.items += itemsOf(args, out)
      return out
    } finally {
      stats.calls++
      stats.ms += now() - t
    }
  }
  return stats
}

const schema = `aque_split_${randomBytes(6).toString('hex')}`
const broker = new PostgresBroker(`${SERVER}?schema=${schema}`)
// track_functions for this broker's own connections only (a superuser setting), given as a
// startup option to every connection its pool opens.
broker.pool.options.options = '-c track_functions=all'
await broker.init()
await broker.ready()
const queue = new Queue({ broker })
// --prefetch: the worker's claim-ahead (its default is the concurrency).
const worker = new Worker(broker, { concurrency, ...(opts.prefetch ? { prefetch: Number(opts.prefetch) } : {}) })
await queue.submitMany(Array.from({ length: 500 }, () => ({ func: noop })))
await worker.runToEnd()
await queue.submitMany(Array.from({ length: tasks }, () => ({ func: noop })))

const limits = new Map()
const claims = meter(broker, '_claim', (args, out) => {
  limits.set(args[0].limit, (limits.get(args[0].limit) ?? 0) + 1)
  return out.tasks.length
})
const finishes = meter(broker, 'finishBatch', (args) => args[0].length)
const admin = new pg.Client({ connectionString: SERVER })
await admin.connect()
const functionStats = async () =>
  (
    await admin.query(
      'SELECT funcname, calls::int, total_time::float AS total, self_time::float AS self FROM pg_stat_user_functions WHERE schemaname = $1 ORDER BY funcname',
      [schema],
    )
  ).rows
// A backend hands its statistics to the shared view within 10 s of going idle (PGSTAT_IDLE_INTERVAL).
await new Promise((r) => setTimeout(r, 11_000))
const fnBefore = await functionStats()
claims.on = finishes.on = true

const session = opts.profile ? new Session() : null
if (session) {
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
}
const cpu0 = process.cpuUsage()
const main0 = mainThreadCpu()
const server0 = serverCpu()
const t0 = now()
const ran = await worker.runToEnd()
const wall = now() - t0
const server = serverCpu() - server0
const cpu = process.cpuUsage(cpu0)
const main = mainThreadCpu() - main0
if (session) {
  const { profile } = await session.post('Profiler.stop')
  writeFileSync(opts.profile, JSON.stringify(profile))
  session.disconnect()
}
claims.on = finishes.on = false

await new Promise((r) => setTimeout(r, 11_000))
const fnAfter = await functionStats()
const before = new Map(fnBefore.map((r) => [r.funcname, r]))
const fmt = (x) => Math.round(x * 10) / 10
console.log(`ran ${ran} tasks in ${fmt(wall)} ms: ${Math.round((ran * 1000) / wall)} tasks/s; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
console.log(`node CPU ${fmt((cpu.user + cpu.system) / 1000)} ms (user ${fmt(cpu.user / 1000)}, sys ${fmt(cpu.system / 1000)}; main thread ${fmt(main * 1000)}); server CPU ${fmt(server * 1000)} ms (10 ms ticks, all backends)`)
for (const [name, s] of [
  ['claims', claims],
  ['finish batches', finishes],
]) {
  console.log(`${name}: ${s.calls} calls, ${fmt(s.items / Math.max(1, s.calls))} tasks/call, ${fmt(s.ms / Math.max(1, s.calls))} ms/call send-to-reply, ${fmt(s.ms)} ms in all`)
}
console.log(`claim limits asked (limit: times): ${[...limits].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([l, n]) => `${l}: ${n}`).join(', ')}`)
console.log('server time per function during the drain (ms in all, ms per call, self ms):')
for (const r of fnAfter) {
  const b = before.get(r.funcname) ?? { calls: 0, total: 0, self: 0 }
  const calls = r.calls - b.calls
  if (calls === 0) continue
  console.log(`  ${r.funcname.padEnd(16)} ${String(calls).padStart(6)} calls  ${fmt(r.total - b.total)} ms  ${fmt((r.total - b.total) / calls)} ms/call  self ${fmt(r.self - b.self)} ms`)
}
await admin.end()
await broker.destroy()
await broker.close()
