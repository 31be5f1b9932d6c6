/**
 * PostgreSQL only: what the server's types and NOTIFY impose. `text` cannot hold a NUL byte
 * and jsonb refuses \u0000, NOTIFY payloads stop at 8000 bytes, and the LISTEN connection can
 * be terminated by the server: each is handled by this broker and checked here against it.
 */
import { Queue, type StatusEvent, Worker, encode, task } from '@aque/core'
import { describe, expect, it } from 'vitest'
import { brokersPerTest, sqlClient } from './helpers.js'

const echo = task('pg-data.echo', (...values: unknown[]) => values)
const shout = task('pg-data.shout', (text: string) => `${text}\u0000!`)

const broker = brokersPerTest()

function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

describe('postgres data', () => {
  it('arguments and results holding NUL bytes are stored and returned exactly', async () => {
    const b = await broker()
    const queue = new Queue({ broker: b })
    const nul = 'a\u0000b\u0000'
    const f = await queue.submitEx({ func: echo, args: [nul, { 'k\u0000': nul }], name: 'n\u0000ame' })
    const g = await queue.submit(shout, '\u0000')
    await new Worker(b).runToEnd()
    expect(await f.result({ timeout: 10_000 })).toEqual([nul, { 'k\u0000': nul }])
    expect(await g.result({ timeout: 10_000 })).toBe('\u0000\u0000!')
    const stored = (await b.fetch([f.id])).get(f.id)
    expect(stored?.args).toEqual([nul, { 'k\u0000': nul }])
    expect(stored?.name).toBe('n\u0000ame')
  })

  it('an output event bigger than a NOTIFY payload reaches listeners with its data', async () => {
    const b = await broker()
    const f = await new Queue({ broker: b }).submit(echo)
    const big = Buffer.alloc(100_000, 7)
    big[0] = 0
    big[99_999] = 255
    const events: Array<{ stream: string; offset: number; data: string }> = []
    const all = new Promise<void>((resolve) => {
      b.on(`task_output.${f.id}`, (payload) => {
        events.push(payload as never)
        if (events.length === 3) resolve()
      })
    })
    await b.ready()
    await b.appendOutput(f.id, [
      { stream: 'stdout', data: Buffer.from('hi'), time: Date.now() },
      { stream: 'stdout', data: big, time: Date.now() },
    ])
    await b.appendOutput(f.id, [{ stream: 'stdout', data: big, time: Date.now() }])
    await within(all, 'three output events')
    // In order, with their bytes, though two were too big to travel in the notification.
    expect(events.map((e) => e.offset)).toEqual([0, 2, 2 + big.length])
    expect(Buffer.from(events[0]?.data as string, 'base64').toString()).toBe('hi')
    expect(Buffer.from(events[1]?.data as string, 'base64').equals(big)).toBe(true)
    expect(Buffer.from(events[2]?.data as string, 'base64').equals(big)).toBe(true)
  })

  it('a big custom event and a status message for 5,000 ids arrive whole', async () => {
    const b = await broker()
    const text = 'x'.repeat(20_000)
    const custom = new Promise((resolve) => b.on('custom_big', resolve))
    const seen = new Set<number>()
    const status = new Promise<void>((resolve) => {
      b.on('task_status.pending', (payload) => {
        for (const id of (payload as StatusEvent).ids) seen.add(id)
        if (seen.size === 5000) resolve()
      })
    })
    await b.ready()
    await b.emit('custom_big', { text })
    expect(await within(custom, 'the big custom event')).toEqual({ text })
    await new Queue({ broker: b }).submitMany(Array.from({ length: 5000 }, () => ({ func: echo })))
    await within(status, 'pending events for 5,000 ids')
  })

  it('the listening connection reconnects by itself after the server terminates it, and LISTENs again', async () => {
    const b = await broker()
    await b.ready()
    const client = await sqlClient()
    try {
      const before = await client.query(`SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN "aque:${b.options.schema}"%'`)
      expect(before.rows).toHaveLength(1)
      await client.query('SELECT pg_terminate_backend($1)', [before.rows[0].pid])
      // Keep publishing until an event arrives again (the first ones may fall in the gap).
      let arrived = false
      b.on('ping', () => {
        arrived = true
      })
      const deadline = Date.now() + 10_000
      while (!arrived && Date.now() < deadline) {
        await b.emit('ping', {})
        await new Promise((r) => setTimeout(r, 50))
      }
      expect(arrived).toBe(true)
      const after = await client.query(`SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN "aque:${b.options.schema}"%'`)
      expect(after.rows).toHaveLength(1)
      expect(after.rows[0].pid).not.toBe(before.rows[0].pid)
      // And a future is still woken by the completion event.
      const f = await new Queue({ broker: b }).submit(echo, 1)
      const { tasks } = await b.claim({ worker: 'w', limit: 1, leaseMs: 30_000 })
      const waiting = f.result({ timeout: 10_000 })
      await b.finish(tasks[0]?.id as number, tasks[0]?.attempt as number, { status: 'success', result: encode('ok') })
      expect(await waiting).toBe('ok')
    } finally {
      await client.end()
    }
  })
})
