/**
 * What Redis spends per script call (INFO commandstats, µs per EVALSHA): the broker's submit,
 * claim and finish of one task at a time, as a latency round trip makes them, and the fixed
 * costs every script pays: an empty EVALSHA, the shared helpers (includes/base.lua, defined
 * again at every call), the PUBSUB NUMSUB that decides whether to publish, and one cheap
 * redis.call.
 *
 *   node bench/profiles/redis-script-costs.mjs [--calls 2000]
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { RedisBroker } from '@aque/broker-redis'
import { Queue, task } from '@aque/core'
import Redis from 'ioredis'

const { values: opts } = parseArgs({ options: { calls: { type: 'string', default: '2000' } } })
const N = Number(opts.calls)
const admin = new Redis('redis://127.0.0.1:6379')

/** µs per EVALSHA since the last call (and resets the counters). */
async function perCall() {
  const text = await admin.info('commandstats')
  const m = /cmdstat_(?:evalsha|fcall):calls=(\d+),usec=(\d+)/.exec(text)
  await admin.config('RESETSTAT')
  return m ? (Number(m[2]) / Number(m[1])).toFixed(1) : '—'
}

const prefix = `aque-scriptcost-${randomBytes(6).toString('hex')}`
const base = readFileSync(new URL('../../packages/broker-redis/src/commands/includes/base.lua', import.meta.url), 'utf8')
const fixed = {
  'empty script': 'return 1',
  'shared helpers (base.lua)': `${base}\nreturn 1`,
  'PUBSUB NUMSUB': "return redis.call('PUBSUB', 'NUMSUB', KEYS[1] .. 'events')[2]",
  'one redis.call (TIME)': "redis.call('TIME') return 1",
}
for (const [label, lua] of Object.entries(fixed)) {
  const sha = await admin.script('LOAD', lua)
  await admin.config('RESETSTAT')
  for (let i = 0; i < N; i++) await admin.evalsha(sha, 1, `${prefix}:`)
  console.log(`${label.padEnd(28)} ${await perCall()} µs`)
}

const broker = new RedisBroker(`redis://127.0.0.1:6379/0?prefix=${prefix}`)
await broker.init()
await broker.ready()
const queue = new Queue({ broker })
const noop = task('bench-noop', () => {})
await admin.config('RESETSTAT')
for (let i = 0; i < N; i++) await queue.submit(noop)
console.log(`${'submit-1 (one task)'.padEnd(28)} ${await perCall()} µs`)
const claimed = []
for (let i = 0; i < N; i++) claimed.push(...(await broker.claim({ worker: 'cost', limit: 1, leaseMs: 60_000 })).tasks)
console.log(`${'claim-1 (limit 1)'.padEnd(28)} ${await perCall()} µs`)
for (const t of claimed) await broker.finish(t.id, t.attempt, { status: 'success', result: 'null' })
console.log(`${'finish-1 (one success)'.padEnd(28)} ${await perCall()} µs`)

await admin.quit()
await broker.destroy()
await broker.close()
