import { randomBytes } from 'node:crypto'
import { RedisBroker } from '@aque/broker-redis'
import { Queue, Worker, task } from '@aque/core'
import Redis from 'ioredis'
const noop = task('bench-noop', () => {})
const broker = new RedisBroker(`redis://127.0.0.1:6379/0?prefix=aque-rt-${randomBytes(6).toString('hex')}`)
await broker.init(); await broker.ready()
const queue = new Queue({ broker })
const worker = new Worker(broker, { concurrency: 32 })
const running = worker.runForever()
const captured = {}
const run = broker.run.bind(broker)
broker.run = (name, args) => { captured[name] ??= args; return run(name, args) }
for (let i = 0; i < 200; i++) await (await queue.submit(noop)).result()
await worker.stop(); await running
console.log(Object.keys(captured), captured['submit-1'])
const client = Reflect.get(broker, 'main').client
const raw = new Redis('redis://127.0.0.1:6379')
const prefix = Reflect.get(broker, 'prefix')
const N = 3000
async function time(label, fn) {
  for (let i = 0; i < 500; i++) await fn()
  const xs = []
  for (let i = 0; i < N; i++) { const t = performance.now(); await fn(); xs.push(performance.now() - t) }
  xs.sort((a, b) => a - b)
  console.log(label.padEnd(30), (xs[N >> 1] * 1000).toFixed(0), 'µs p50', (xs[Math.floor(N * 0.9)] * 1000).toFixed(0), 'p90')
}
await time('ping (raw)0', () => raw.ping()); await time('ping (broker client)', () => client.ping())
await time('ping (raw)', () => raw.ping())
const sub = captured['submit-1']
await time('submit-1 handoff via broker.run', () => run('submit-1', [Date.now(), ...sub.slice(1)]))
await time('empty eval', () => raw.eval('return 1', 0))
await broker.destroy(); await broker.close(); await raw.quit()
