/**
 * Where aque-postgres's drain spends its time: the bench's drain (10,000 no-op tasks submitted
 * in one batch, one worker, concurrency 32) with, around the drain alone, this process's CPU,
 * the PostgreSQL server's CPU (read from /proc, so only for a server on this machine, and
 * counting whatever else uses it at the time), the claims and finishes sent (count, tasks per
 * call, ms from send to reply) and the server time of each plpgsql function
 * (pg_stat_user_functions, with track_functions on for this broker's connections).
 * With `--profile FILE`, a V8 CPU profile of the drain alone is written to FILE (read it with
 * bench/lib/profile-summary.mjs); with `--heap FILE`, a sampling heap profile of what the drain
 * allocates (garbage included), summarised by function and by package on stdout.
 *   node bench/profiles/postgres-drain-split.mjs [--tasks 10000] [--concurrency 32] [--prefetch N] [--start-on-wake] [--profile FILE | --heap FILE]
 */
import { randomBytes } from 'node:crypto'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { parseArgs } from 'node:util'
import { PostgresBroker } from '@aque/broker-postgres'
import { Queue, Worker, task } from '@aque/core'
import pg from 'pg'
import { postgresCpu as serverCpu, processCpu } from '../lib/proc-cpu.mjs'

const SERVER = 'postgres://postgres@127.0.0.1:5432/test'
const { values: opts } = parseArgs({ options: { tasks: { type: 'string', default: '10000' }, concurrency: { type: 'string', default: '32' }, prefetch: { type: 'string' }, 'start-on-wake': { type: 'boolean', default: false }, profile: { type: 'string' }, heap: { type: 'string' } } })
const tasks = Number(opts.tasks)
const concurrency = Number(opts.concurrency)
const noop = task('bench-noop', () => {})
const now = () => Number(process.hrtime.bigint()) / 1e6

/** CPU seconds of this process's main thread (the JS thread; GC and I/O helper threads excluded). */
function mainThreadCpu() {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

/** CPU seconds of this process's threads, summed by thread name (V8 workers, libuv pool…). */
function threadCpu() {
  const out = new Map()
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      const name = tid === String(process.pid) ? 'main' : `${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}/${tid}`
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100)
    } catch {
      // ended meanwhile
    }
  }
  return out
}

/** Prints what the sampled allocations add up to, per task, by package and by function. */
function summariseAllocations(profile, ran) {
  const byFunction = new Map()
  const byPackage = new Map()
  const add = (map, key, n) => map.set(key, (map.get(key) ?? 0) + n)
  const walk = (node) => {
    const { functionName, url, lineNumber } = node.callFrame
    const where = url.replace(/^.*\/work\/main\//, '')
    add(byFunction, `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`, node.selfSize)
    add(byPackage, where.replace(/node_modules\/((@[^/]+\/)?[^/]+)\/.*/, '$1').replace(/^packages\/([^/]+)\/.*/, '@aque/$1') || '(no script)', node.selfSize)
    for (const child of node.children ?? []) walk(child)
  }
  walk(profile.head)
  const total = [...byPackage.values()].reduce((a, b) => a + b, 0)
  console.log(`allocated ${Math.round(total / ran)} bytes per task (sampled, garbage included)`)
  for (const map of [byPackage, byFunction]) {
    for (const [key, n] of [...map].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${String(Math.round(n / ran)).padStart(6)} B/task  ${key}`)
  }
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
// Named, so that the server processes of this broker's connections can be told apart.
const broker = new PostgresBroker(`${SERVER}?schema=${schema}&application_name=${schema}`)
// track_functions for this broker's own connections only (a superuser setting), given as a
// startup option to every connection its pool opens.
broker.pool.options.options = '-c track_functions=all'
await broker.init()
await broker.ready()
const queue = new Queue({ broker })
// --prefetch: the worker's claim-ahead (its default is the concurrency).
const worker = new Worker(broker, { concurrency, ...(opts.prefetch ? { prefetch: Number(opts.prefetch) } : {}) })
if (opts['start-on-wake']) {
  // Experiment for the core Worker: tasks claimed ahead start as soon as slots free up (when a
  // run ends), not only between claims (the loop waits for its claim meanwhile).
  const wake = worker.wake
  worker.wake = () => {
    worker.startWaiting()
    wake()
  }
}
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
/** The server processes of this broker's connections (its pool and its listener). */
const ownBackends = async () => (await admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [schema])).rows.map((r) => r.pid)
const own0 = new Map((await ownBackends()).map((pid) => [pid, processCpu(pid)]))
claims.on = finishes.on = true

const session = opts.profile || opts.heap ? new Session() : null
if (session) {
  session.connect()
  if (opts.profile) {
    await session.post('Profiler.enable')
    await session.post('Profiler.start')
  } else {
    await session.post('HeapProfiler.enable')
    const all = { includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }
    await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, ...all })
  }
}
const cpu0 = process.cpuUsage()
const main0 = mainThreadCpu()
const threads0 = threadCpu()
const server0 = serverCpu()
const t0 = now()
const ran = await worker.runToEnd()
const wall = now() - t0
const server = serverCpu() - server0
let own = 0
for (const pid of await ownBackends()) own += processCpu(pid) - (own0.get(pid) ?? 0)
const cpu = process.cpuUsage(cpu0)
const main = mainThreadCpu() - main0
const threadsAfter = threadCpu()
if (session) {
  const { profile } = await session.post(opts.profile ? 'Profiler.stop' : 'HeapProfiler.stopSampling')
  writeFileSync(opts.profile ?? opts.heap, JSON.stringify(profile))
  session.disconnect()
  if (opts.heap) summariseAllocations(profile, ran)
}
claims.on = finishes.on = false

await new Promise((r) => setTimeout(r, 11_000))
const fnAfter = await functionStats()
const before = new Map(fnBefore.map((r) => [r.funcname, r]))
const fmt = (x) => Math.round(x * 10) / 10
console.log(`ran ${ran} tasks in ${fmt(wall)} ms: ${Math.round((ran * 1000) / wall)} tasks/s; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
console.log(`node CPU ${fmt((cpu.user + cpu.system) / 1000)} ms (user ${fmt(cpu.user / 1000)}, sys ${fmt(cpu.system / 1000)}; main thread ${fmt(main * 1000)}); server CPU ${fmt(own * 1000)} ms in this broker's ${own0.size} connections, ${fmt(server * 1000)} ms in all PostgreSQL processes (10 ms ticks)`)
console.log(`node threads (ms on a CPU, by name): ${[...threadsAfter].map(([name, s]) => `${name} ${fmt((s - (threads0.get(name) ?? 0)) * 1000)}`).join(', ')}`)
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
