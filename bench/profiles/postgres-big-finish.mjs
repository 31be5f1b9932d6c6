/**
 * What one big `finish_success` costs as the batch grows: N tasks submitted and claimed
 * through the broker, then finished by one call of the function with outcomes of LEN bytes,
 * timed from the call to its answer; then every 'success' message is awaited (the broker
 * listens), so the messages were all sent and none was lost. The time per task should not
 * grow with N (migration 12 cut each message out of the batch by array slice, which
 * PostgreSQL resolves by walking the text array: 20,000 long outcomes took 11.6 s).
 *   node bench/profiles/postgres-big-finish.mjs [N …] [--len 1000] [--control]
 * `--control`: outcomes of raw control characters (six bytes each in JSON), so that every
 * message is over the limit by the sizing rule and goes through notify_outcomes.
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { PostgresBroker } from '@aque/broker-postgres'
import { Queue, task } from '@aque/core'
import pg from 'pg'

const SERVER = 'postgres://postgres@127.0.0.1:5432/test'
const { values: opts, positionals } = parseArgs({ allowPositionals: true, options: { len: { type: 'string', default: '1000' }, control: { type: 'boolean', default: false } } })
const len = Number(opts.len)
const sizes = positionals.length > 0 ? positionals.map(Number) : [2500, 5000, 10_000, 20_000]
const noop = task('bench-noop', () => {})

/** The outcome text of entry i: codec-like JSON of `len` bytes, or raw control characters. */
const outcome = (i) => (opts.control ? String(i).padEnd(len, '\u0001') : JSON.stringify(String(i).padEnd(len - 2, 'x')))

/** @param {number} n */
async function once(n) {
  const broker = new PostgresBroker(`${SERVER}?schema=aque_big_finish_${randomBytes(6).toString('hex')}`)
  await broker.init()
  await broker.ready()
  const client = new pg.Client({ connectionString: SERVER })
  await client.connect()
  try {
    const queue = new Queue({ broker })
    for (let i = 0; i < n; i += 10_000) await queue.submitMany(Array.from({ length: Math.min(10_000, n - i) }, () => ({ func: noop })))
    const tasks = []
    while (tasks.length < n) tasks.push(...(await broker.claim({ worker: 'w', limit: n - tasks.length, leaseMs: 600_000 })).tasks)
    let heard = 0
    broker.on('task_status.success', (p) => {
      heard += /** @type {{ ids: number[] }} */ (p).ids.length
    })
    const s = `"${broker.options.schema}"`
    const t0 = performance.now()
    const { rows } = await client.query(`SELECT cardinality(${s}.finish_success($1, $2, $3, $4)) AS n`, [
      tasks.map((t) => t.id),
      tasks.map((t) => t.attempt),
      tasks.map((_, i) => outcome(i)),
      tasks.map(() => Date.now()),
    ])
    const ms = performance.now() - t0
    const deadline = Date.now() + 30_000
    while (heard < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    console.log(`${n} successes, ${len}-byte outcomes${opts.control ? ' (control characters)' : ''}: applied ${rows[0].n} in ${ms.toFixed(0)} ms (${((ms * 1000) / n).toFixed(1)} µs a task); heard ${heard}`)
  } finally {
    await client.end()
    await broker.destroy()
    await broker.close()
  }
}

for (const n of sizes) await once(n)
