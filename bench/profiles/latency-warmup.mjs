/**
 * How a process's submit → await round trip settles as V8 optimises the hot path: the p50 of
 * each block of consecutive round trips, from the first, with the worker in the same process
 * (as the bench's latency scenario, which times trips 1,001–1,300). Run it with V8's tiering
 * made 8 × eager (`node --interrupt-budget=16896 …`) to see how much of a block's time is code
 * not optimised yet.
 *
 *   node bench/profiles/latency-warmup.mjs [redis|postgres|memory] [--blocks 12] [--block 300]
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { Queue, Worker, getBroker, task } from '@aque/core'
import '@aque/broker-memory'
import '@aque/broker-postgres'
import '@aque/broker-redis'

const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: { blocks: { type: 'string', default: '12' }, block: { type: 'string', default: '300' } } })
const kind = positionals[0] ?? 'redis'
const name = `aque_warmup_${randomBytes(5).toString('hex')}`
const urls = { redis: `redis://127.0.0.1:6379/0?prefix=${name}`, postgres: `postgres://postgres@127.0.0.1:5432/test?schema=${name}`, memory: `memory://${name}` }
const url = urls[/** @type {keyof typeof urls} */ (kind)]
if (!url) throw new Error(`unknown broker ${kind}: redis, postgres or memory`)
const noop = task('bench-noop', () => {})
const broker = await getBroker(url)
await broker.init()
const queue = new Queue({ broker })
const worker = new Worker(broker, { concurrency: 32 })
const running = worker.runForever()
const medians = []
for (let b = 0; b < Number(opts.blocks); b++) {
  const xs = []
  for (let i = 0; i < Number(opts.block); i++) {
    const start = performance.now()
    await (await queue.submit(noop)).result()
    xs.push(performance.now() - start)
  }
  xs.sort((x, y) => x - y)
  medians.push(Math.round((xs[xs.length >> 1] ?? 0) * 1000))
}
console.log(`${kind}: p50 µs of each block of ${opts.block} round trips: ${medians.join(' ')}`)
await worker.stop()
await running
await broker.destroy()
await broker.close()
