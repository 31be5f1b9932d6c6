/**
 * Where a submit → run → await round trip on Redis spends its time: the bench's latency
 * scenario (one process, a worker running forever, sequential round trips), with, around the
 * timed round trips only, this process's CPU (user and kernel), its main thread's time on a CPU
 * and waiting for one (/proc schedstat), Redis's CPU (INFO cpu) and the script calls Redis ran
 * (INFO commandstats), each per round trip.
 *
 *   node bench/profiles/redis-latency-split.mjs [--round-trips 3000] [--profile FILE]
 *
 * `--profile` writes a CPU profile of the timed round trips (100 µs sampling).
 */
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { parseArgs } from 'node:util'
import { RedisBroker } from '@aque/broker-redis'
import { Queue, Worker, task } from '@aque/core'
import Redis from 'ioredis'

const { values: opts } = parseArgs({ options: { 'round-trips': { type: 'string', default: '3000' }, profile: { type: 'string' } } })
const N = Number(opts['round-trips'])
const WARMUP = 1000
const noop = task('bench-noop', () => {})

const broker = new RedisBroker(`redis://127.0.0.1:6379/0?prefix=aque-latsplit-${randomBytes(6).toString('hex')}`)
await broker.init()
await broker.ready()
const queue = new Queue({ broker })
const worker = new Worker(broker, { concurrency: 32 })
const running = worker.runForever()
const admin = new Redis('redis://127.0.0.1:6379')

/** Redis's CPU, µs (main process, user + system). */
async function redisCpu() {
  const text = await admin.info('cpu')
  const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(text)?.[1] ?? 0)
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6
}
/** [ns on a CPU, ns runnable but waiting for a CPU] of this process's main thread. */
const mainSched = () => readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number)
const roundTrip = async () => {
  await (await queue.submit(noop)).result()
}

for (let i = 0; i < WARMUP; i++) await roundTrip()
const session = opts.profile ? new Session() : null
if (session) {
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
}
await admin.config('RESETSTAT')
const redis0 = await redisCpu()
const cpu0 = process.cpuUsage()
const sched0 = mainSched()
/** @type {number[]} */
const samples = []
for (let i = 0; i < N; i++) {
  const start = performance.now()
  await roundTrip()
  samples.push((performance.now() - start) * 1000)
}
const cpu = process.cpuUsage(cpu0)
const sched = mainSched()
const redis = (await redisCpu()) - redis0
const stats = await admin.info('commandstats')
if (session) {
  const { profile } = await session.post('Profiler.stop')
  writeFileSync(opts.profile, JSON.stringify(profile))
  session.disconnect()
}

samples.sort((a, b) => a - b)
const per = (x) => Math.round(x / N)
const evalsha = /cmdstat_(?:evalsha|fcall):calls=(\d+),usec=(\d+)/.exec(stats)
console.log(`${N} round trips: p50 ${Math.round(samples[N >> 1])} µs, p90 ${Math.round(samples[Math.floor(N * 0.9)])} µs`)
console.log(
  `per round trip: node CPU ${per(cpu.user + cpu.system)} µs (user ${per(cpu.user)}, kernel ${per(cpu.system)}); main thread on a CPU ${per((sched[0] - sched0[0]) / 1000)} µs, waiting for one ${per((sched[1] - sched0[1]) / 1000)} µs`,
)
console.log(
  `redis CPU ${per(redis)} µs per round trip; scripts: ${evalsha ? `${(Number(evalsha[1]) / N).toFixed(2)} calls, ${per(Number(evalsha[2]))} µs` : 'none'} (the rest is Redis reading and writing sockets)`,
)

await worker.stop()
await running
await admin.quit()
await broker.destroy()
await broker.close()
