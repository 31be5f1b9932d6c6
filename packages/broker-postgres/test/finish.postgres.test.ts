/**
 * PostgreSQL only: the batched finish paths. Finishes of tasks that end in the same turn are
 * sent as one statement, the usual batch (every run succeeded, no id twice) through the lean
 * `finish_success`, and a claim made while finishes wait to be sent carries them in its own
 * statement, before it claims. No other broker batches this way.
 */
import { Queue, type StatusEvent, type TaskRecord, decode, encode, task } from '@aque/core'
import { describe, expect, it } from 'vitest'
import type { PostgresBroker } from '../src/index.js'
import { brokersPerTest, sameSchema, sqlClient } from './helpers.js'

const noop = task('pg-finish.noop', () => null)

const fresh = brokersPerTest()
const broker = () => fresh({ listening: true })

/** Collects the `task_status` messages of one status until `until` holds. */
function collect(b: PostgresBroker, status: string) {
  const messages: StatusEvent[] = []
  const off = b.on(`task_status.${status}`, (payload) => messages.push(payload as StatusEvent))
  return {
    messages,
    async until(check: () => boolean): Promise<void> {
      const deadline = Date.now() + 5000
      while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
      off()
      if (!check()) throw new Error(`timed out waiting for task_status.${status} messages`)
    },
  }
}

/** `n` no-op tasks submitted and claimed on `b`. */
async function claimedTasks(b: PostgresBroker, n: number): Promise<TaskRecord[]> {
  await new Queue({ broker: b }).submitMany(Array.from({ length: n }, () => ({ func: noop })))
  const tasks = (await b.claim({ worker: 'w', limit: n, leaseMs: 30_000 })).tasks
  expect(tasks).toHaveLength(n)
  return tasks
}

/** Calls finish_success itself (as a plain client) with outcome text(i) for the i-th task; returns the ids it applied to. */
async function finishSuccess(b: PostgresBroker, tasks: TaskRecord[], text: (i: number) => string): Promise<number[]> {
  const client = await sqlClient()
  try {
    const { rows } = await client.query(`SELECT "${b.options.schema}".finish_success($1, $2, $3, $4) AS applied`, [
      tasks.map((t) => t.id),
      tasks.map((t) => t.attempt),
      tasks.map((_, i) => text(i)),
      tasks.map(() => Date.now()),
    ])
    return ((rows[0]?.applied ?? []) as number[]).map(Number)
  } finally {
    await client.end()
  }
}

describe('postgres batched finish', () => {
  it('a claim made while finishes wait carries them before it claims: the dependents they release are in that claim', async () => {
    const b = await broker()
    const queue = new Queue({ broker: b })
    const [x, y, z] = await queue.submitMany([{ func: noop }, { func: noop }, { func: noop }])
    const [dependent] = await queue.submitMany([{ func: noop, dependencies: [x?.id as number, y?.id as number] }])
    const [tx, ty, tz] = (await b.claim({ worker: 'w', limit: 3, leaseMs: 30_000 })).tasks
    expect([tx?.id, ty?.id, tz?.id]).toEqual([x?.id, y?.id, z?.id])
    // The finishes wait for the end of this turn; the claim made meanwhile takes them along.
    const finished = [
      b.finish(tx?.id as number, tx?.attempt as number, { status: 'success', result: encode(1) }),
      b.finish(ty?.id as number, ty?.attempt as number, { status: 'success', result: encode(2) }),
      b.finish(tz?.id as number, (tz?.attempt as number) + 1, { status: 'success', result: encode(3) }), // a stale attempt
    ]
    const next = await b.claim({ worker: 'w', limit: 4, leaseMs: 30_000 })
    expect(next.tasks.map((t) => t.id)).toEqual([dependent?.id])
    expect(await Promise.all(finished)).toEqual([true, true, false])
    const records = await b.fetch([x?.id as number, y?.id as number, z?.id as number])
    expect([...records.values()].map((r) => [r.status, r.result])).toEqual([
      ['success', 1],
      ['success', 2],
      ['running', null],
    ])
  })

  it('a batch with an error or an id twice goes through the general finish, entry by entry, in order', async () => {
    const b = await broker()
    const queue = new Queue({ broker: b })
    const futures = await queue.submitMany([{ func: noop }, { func: noop }, { func: noop }])
    const tasks = (await b.claim({ worker: 'w', limit: 3, leaseMs: 30_000 })).tasks
    const [t1, t2, t3] = tasks
    const applied = await Promise.all([
      b.finish(t1?.id as number, t1?.attempt as number, { status: 'success', result: encode('a') }),
      b.finish(t1?.id as number, t1?.attempt as number, { status: 'success', result: encode('again') }),
      b.finish(t2?.id as number, t2?.attempt as number, { status: 'error', error: encode(new Error('no')) }),
      b.finish(t3?.id as number, t3?.attempt as number, { status: 'success', result: encode('c') }),
    ])
    expect(applied).toEqual([true, false, true, true])
    const records = await b.fetch(futures.map((f) => f.id))
    expect([...records.values()].map((r) => r.status)).toEqual(['success', 'error', 'success'])
    expect(records.get(t1?.id as number)?.result).toBe('a')
  })

  it('success messages carry small outcomes, leave big ones out, and stay under the NOTIFY limit for a big batch', async () => {
    const b = await broker()
    const queue = new Queue({ broker: b })
    const n = 300
    const futures = await queue.submitMany(Array.from({ length: n }, () => ({ func: noop })))
    const tasks = (await b.claim({ worker: 'w', limit: n, leaseMs: 30_000 })).tasks
    const big = 'x'.repeat(2000)
    const resultOf = (i: number) => (i === 0 ? big : `r${i}\u0000`)
    const seen = collect(b, 'success')
    const applied = await Promise.all(tasks.map((t, i) => b.finish(t.id, t.attempt, { status: 'success', result: encode(resultOf(i)) })))
    expect(applied.every(Boolean)).toBe(true)
    await seen.until(() => seen.messages.reduce((k, m) => k + m.ids.length, 0) >= n)
    const ids = seen.messages.flatMap((m) => m.ids)
    expect(ids.sort((a, c) => a - c)).toEqual(futures.map((f) => f.id))
    const outcomes = Object.assign({}, ...seen.messages.map((m) => m.outcomes ?? {})) as Record<string, string>
    expect(outcomes[String(tasks[0]?.id)]).toBeUndefined()
    expect(decode(outcomes[String(tasks[1]?.id)] as string)).toBe('r1\u0000')
    expect(Object.keys(outcomes)).toHaveLength(n - 1)
    // Read back exactly (decoded by fetch), NUL included.
    const stored = await b.fetch([tasks[0]?.id as number, tasks[5]?.id as number])
    expect([...stored.values()].map((r) => r.result)).toEqual([big, 'r5\u0000'])
  })

  it('a batch whose outcomes escape to more than twice their size still goes out under the NOTIFY limit', async () => {
    // finish_success sizes its messages on the rule that an outcome, being codec JSON, at most
    // doubles when escaped; raw control characters (six bytes each escaped) break that rule,
    // and the measured message must then go through the grouping of notify_outcomes.
    const b = await broker()
    const n = 12
    const tasks = await claimedTasks(b, n)
    const text = (i: number) => `${String(i)}${'\u0001'.repeat(900)}`
    const seen = collect(b, 'success')
    expect((await finishSuccess(b, tasks, text)).sort((x, y) => x - y)).toEqual(tasks.map((t) => t.id))
    await seen.until(() => seen.messages.reduce((k, m) => k + m.ids.length, 0) >= n)
    expect(seen.messages.length).toBeGreaterThan(1)
    const outcomes = Object.assign({}, ...seen.messages.map((m) => m.outcomes ?? {})) as Record<string, string>
    // What rides along is exact (notify_outcomes leaves out what escapes past 1000 bytes).
    tasks.forEach((t, i) => {
      if (String(t.id) in outcomes) expect(outcomes[String(t.id)]).toBe(text(i))
    })
  })

  it('a batch of thousands of long outcomes goes out in many messages, each id once, in order, each outcome exact', async () => {
    // finish_success groups a batch into messages of k entries (k from the longest outcome):
    // with 1,000-byte outcomes that is 3 a message, so 3,000 successes make 1,000 messages.
    // (Their cost is linear in the batch: bench/profiles/postgres-big-finish.mjs.)
    const b = await broker()
    const n = 3000
    const tasks = await claimedTasks(b, n)
    const text = (i: number) => JSON.stringify(`${String(i)}:`.padEnd(998, 'y'))
    const seen = collect(b, 'success')
    expect(await finishSuccess(b, tasks, text)).toEqual(tasks.map((t) => t.id))
    await seen.until(() => seen.messages.reduce((k, m) => k + m.ids.length, 0) >= n)
    expect(seen.messages.length).toBeGreaterThanOrEqual(n / 3)
    // Every id once, in the batch's order, and every outcome exact.
    expect(seen.messages.flatMap((m) => m.ids)).toEqual(tasks.map((t) => t.id))
    const outcomes = Object.assign({}, ...seen.messages.map((m) => m.outcomes ?? {})) as Record<string, string>
    expect(Object.keys(outcomes)).toHaveLength(n)
    expect(tasks.map((t) => outcomes[String(t.id)])).toEqual(tasks.map((_, i) => text(i)))
  })

  it('a lone success is fenced, releases its dependents (new_work) and carries its small outcome', async () => {
    const b = await broker()
    const other = await sameSchema(b) // another process: hears only what the server sends
    try {
      const queue = new Queue({ broker: b })
      const [first, second] = await queue.submitMany([{ func: noop }, { func: noop }])
      const [dependent] = await queue.submitMany([{ func: noop, dependencies: [first?.id as number] }])
      // Messages arrive in commit order: once the claim's is heard, the submits' are all in.
      // (Listened for before the claim: its message can arrive before the claim's answer.)
      const claimed = collect(other, 'running')
      const [t1, t2] = (await b.claim({ worker: 'w', limit: 2, leaseMs: 30_000 })).tasks
      await claimed.until(() => claimed.messages.some((m) => m.ids.includes(t1?.id as number)))
      const seen = collect(other, 'success')
      let newWork = 0
      const offWork = other.on('new_work', () => newWork++)
      // A stale attempt is refused, alone as in a batch.
      expect(await b.finish(t1?.id as number, (t1?.attempt as number) + 1, { status: 'success', result: encode('stale') })).toBe(false)
      expect(await b.finish(t1?.id as number, t1?.attempt as number, { status: 'success', result: encode('one\u0000') })).toBe(true)
      expect(await b.finish(t1?.id as number, t1?.attempt as number, { status: 'success', result: encode('twice') })).toBe(false)
      await seen.until(() => seen.messages.length >= 1 && newWork >= 1)
      offWork()
      expect(seen.messages.map((m) => m.ids)).toEqual([[t1?.id]])
      expect(decode((seen.messages[0]?.outcomes as Record<string, string> | undefined)?.[String(t1?.id)] as string)).toBe('one\u0000')
      expect(newWork).toBe(1)
      // The dependent is ready now; the other task is still running.
      expect((await b.claim({ worker: 'w', limit: 5, leaseMs: 30_000 })).tasks.map((t) => t.id)).toEqual([dependent?.id])
      const records = await b.fetch([first?.id as number, second?.id as number])
      expect([...records.values()].map((r) => [r.status, r.result])).toEqual([
        ['success', 'one\u0000'],
        ['running', null],
      ])
      // A big outcome stays out of the message: a waiter reads it back.
      const big = 'y'.repeat(5000)
      const bigSeen = collect(other, 'success')
      expect(await b.finish(t2?.id as number, t2?.attempt as number, { status: 'success', result: encode(big) })).toBe(true)
      await bigSeen.until(() => bigSeen.messages.length >= 1)
      expect(bigSeen.messages[0]?.ids).toEqual([t2?.id])
      expect((bigSeen.messages[0]?.outcomes as Record<string, string> | undefined)?.[String(t2?.id)]).toBeUndefined()
      expect(await second?.result()).toBe(big)
    } finally {
      await other.close()
    }
  })
})
