/**
 * Where a Redis submit → await round trip spends its time, phase by phase, as seen from Node:
 * the writes to and replies from the broker's main connection, the task's run and the await's
 * end, each as the median time since the step before it, over sequential round trips with the
 * worker in the same process (as the bench's latency scenario). A phase from a write to the
 * next reply is Redis's time (scripts and sockets) plus the wake-ups on both sides; the others
 * are Node's.
 *
 *   node bench/profiles/redis-round-trip-phases.mjs [round trips, default 2000]
 */
import { randomBytes } from 'node:crypto'
import { Queue, Worker, getBroker, task } from '@aque/core'
import '@aque/broker-redis'
import { mark, printPhases, timeRoundTrips } from '../lib/round-trip-phases.mjs'

const noop = task('bench-noop', () => mark('run'))
const broker = await getBroker(`redis://127.0.0.1:6379/0?prefix=aque-phases-${randomBytes(6).toString('hex')}`)
await broker.init()
const queue = new Queue({ broker })
const worker = new Worker(broker, { concurrency: 32 })
const running = worker.runForever()
const n = Number(process.argv[2] ?? 2000)
for (let i = 0; i < 300; i++) await (await queue.submit(noop)).result()

// The main connection's socket (a diagnostic: private fields of the broker and of ioredis).
const stream = Reflect.get(broker, 'main').client.stream
const write = stream.write.bind(stream)
stream.write = (...args) => {
  mark('write')
  return write(...args)
}
stream.prependListener('data', () => mark('reply'))

const trips = await timeRoundTrips(queue, noop, n)
printPhases(trips, 1)
await worker.stop()
await running
await broker.destroy()
await broker.close()
