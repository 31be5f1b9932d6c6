/**
 * Where a PostgreSQL submit → await round trip spends its time, step by step, as seen from
 * Node: the submit's reply, the new_work message, the claim sent and answered, the run, the
 * finish sent and answered, the task_status message with the outcome, and the await's end,
 * each as the median time since the step before it, over sequential round trips with the
 * worker in the same process (as the bench's latency scenario).
 *
 *   node bench/profiles/postgres-round-trip-phases.mjs [round trips, default 1000]
 */
import { randomBytes } from 'node:crypto'
import { PostgresBroker } from '@aque/broker-postgres'
import { Queue, Worker, task } from '@aque/core'
import { mark, printPhases, timeRoundTrips } from '../lib/round-trip-phases.mjs'

const noop = task('bench-noop', () => mark('run'))
const schema = `aque_phases_${randomBytes(6).toString('hex')}`
const broker = new PostgresBroker(`postgres://postgres@127.0.0.1:5432/test?schema=${schema}`)
await broker.init()
await broker.ready()
const queue = new Queue({ broker })
const worker = new Worker(broker, { concurrency: 32 })
const running = worker.runForever()
const n = Number(process.argv[2] ?? 1000)
for (let i = 0; i < 200; i++) await (await queue.submit(noop)).result()

// Diagnostics on the broker's private methods: when each statement leaves and comes back.
const wrap = (name, label) => {
  const original = broker[name].bind(broker)
  broker[name] = async (...args) => {
    mark(`${label}>`)
    try {
      return await original(...args)
    } finally {
      mark(`${label}<`)
    }
  }
}
wrap('claimTopWith', 'claim')
wrap('finishBatch', 'finish')
broker.on('new_work', () => mark('new_work'))
broker.on('task_status', (e) => {
  if (e.status === 'success') mark('success')
})

const trips = await timeRoundTrips(queue, noop, n)
printPhases(trips, 3)
await worker.stop()
await running
await broker.destroy()
await broker.close()
