/**
 * How many promises (and other async resources) a drained task makes, and where: a worker
 * drains 5,000 no-op tasks on one broker while an async_hooks hook counts what is created and
 * samples the call sites. With `--latency`: per submit → run → await round trip instead (a
 * worker running forever, 5,000 sequential round trips, as the latency scenario). Every promise matters on the hot path: a task function reads
 * `currentTask()` through AsyncLocalStorage, which on Node 20 runs a hook for every promise
 * the process makes, and V8 then keeps the promises an `await` would otherwise skip.
 *
 *   node bench/profiles/promises-per-task.mjs memory|redis|postgres [--latency] [--sites 15]
 */
import { createHook } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { MemoryBroker } from '@aque/broker-memory'
import { PostgresBroker } from '@aque/broker-postgres'
import { RedisBroker } from '@aque/broker-redis'
import { Queue, Worker, task } from '@aque/core'

const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: { sites: { type: 'string', default: '15' }, latency: { type: 'boolean', default: false } } })
const kind = positionals[0] ?? 'memory'
const TASKS = 5000
/** One call site in this many resources is sampled (stack traces are dear). */
const SAMPLE = 7
const id = randomBytes(6).toString('hex')
const brokers = {
  memory: () => new MemoryBroker(),
  redis: () => new RedisBroker(`redis://127.0.0.1:6379/0?prefix=aque-promises-${id}`),
  postgres: () => new PostgresBroker(`postgres://postgres@127.0.0.1:5432/test?schema=aque_promises_${id}`),
}
const open = brokers[kind]
if (!open) throw new Error(`expected one of ${Object.keys(brokers).join(', ')}`)

const noop = task('bench-noop', () => {})
const broker = open()
await broker.init()
await broker.ready()
const queue = new Queue({ broker })
const worker = new Worker(broker, { concurrency: 32 })
await queue.submitMany(Array.from({ length: 500 }, () => ({ func: noop })))
await worker.runToEnd()
if (!opts.latency) await queue.submitMany(Array.from({ length: TASKS }, () => ({ func: noop })))
const running = opts.latency ? worker.runForever() : null

/** The first two frames of our code or its dependencies (Node's internals left out). */
function callSite() {
  const frames = (new Error().stack ?? '').split('\n').slice(3)
  return frames
    .filter((l) => !l.includes('node:internal') && !l.includes('promises-per-task.mjs'))
    .slice(0, 2)
    .map((l) =>
      l
        .trim()
        .replace(/^at /, '')
        .replace(/\(?file:\/\/.*?\/(packages|node_modules)\//, '$1/')
        .replace(/\)$/, ''),
    )
    .join(' <- ')
}
const types = new Map()
const sites = new Map()
let created = 0
Error.stackTraceLimit = 12
const hook = createHook({
  init(_asyncId, type) {
    types.set(type, (types.get(type) ?? 0) + 1)
    if (++created % SAMPLE === 0) {
      const site = callSite()
      sites.set(site, (sites.get(site) ?? 0) + 1)
    }
  },
})
hook.enable()
if (running) {
  for (let i = 0; i < TASKS; i++) await (await queue.submit(noop)).result()
} else {
  await worker.runToEnd()
}
hook.disable()
if (running) {
  await worker.stop()
  await running
}

const perTask = (n) => (n / TASKS).toFixed(2)
console.log(`${kind}: per ${running ? 'round trip' : 'task'} ${[...types].map(([type, n]) => `${type} ${perTask(n)}`).join(', ')}`)
for (const [site, n] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, Number(opts.sites))) console.log(`  ${perTask(n * SAMPLE).padStart(5)}  ${site}`)
await broker.destroy()
await broker.close()
