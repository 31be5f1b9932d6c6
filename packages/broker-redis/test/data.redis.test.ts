/**
 * Redis only: what the broker stores in Redis and reads back as text. A hash damaged by hand
 * must fail only its own task (the records are validated because they come from text), large
 * values must cross the wire whole, and two brokers on one prefix must never claim one task
 * twice (the claim script's check, not a process-local lock).
 */
import { DecodeError, Queue, type StatusEvent, task, Worker } from '@aque/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RedisBroker } from '../src/index.js'
import { freshBroker, rawClient } from './helpers.js'

const echo = task('redis-test-echo', (value: string) => value)
const big = task('redis-test-big', (size: number) => 'x'.repeat(size))

describe('redis data', () => {
  let broker: RedisBroker
  const raw = rawClient()
  beforeEach(async () => {
    broker = await freshBroker()
  })
  afterEach(async () => {
    await broker.destroy()
    await broker.close()
  })

  it('a corrupted task hash read back is reported for that task and does not stop the worker', async () => {
    const queue = new Queue({ broker })
    const bad = await queue.submit(echo, 'bad')
    const good = await queue.submit(echo, 'good')
    await raw.hset(`${broker.location.prefix}:t:${bad.id}`, 'createdAt', 'not a number', 'dependencies', '[oops')
    const fetched = (await broker.fetch([bad.id])).get(bad.id)
    expect(fetched?.unreadable).toEqual(expect.arrayContaining(['createdAt', 'dependencies']))
    const worker = new Worker(broker, { concurrency: 2 })
    await worker.runToEnd()
    await expect(good.result({ timeout: 10_000 })).resolves.toBe('good')
    await expect(bad.result({ timeout: 10_000 })).rejects.toBeInstanceOf(DecodeError)
  })

  it('a task stored with its spec as strings in `_j` (before `_s`) is still read, fetched and run', async () => {
    const queue = new Queue({ broker })
    const f = await queue.submitEx<string>({ func: echo, args: ['old'], priority: 7, environ: { A: '1' } })
    const key = `${broker.location.prefix}:t:${f.id}`
    const stored = JSON.parse((await raw.hget(key, '_s')) ?? 'null') as Record<string, unknown>
    const strings = Object.fromEntries(Object.entries(stored).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
    await raw.hdel(key, '_s')
    await raw.hset(key, '_j', JSON.stringify(strings))
    const fetched = (await broker.fetch([f.id]))?.get(f.id)
    expect(fetched).toMatchObject({ func: 'redis-test-echo', priority: 7, environ: { A: '1' }, args: ['old'] })
    expect(fetched?.unreadable).toBeUndefined()
    expect((await broker.fetch([f.id], ['priority', 'environ', 'status'])).get(f.id)).toMatchObject({ priority: 7, environ: { A: '1' }, status: 'pending' })
    await new Worker(broker).runToEnd()
    await expect(f.result({ timeout: 10_000 })).resolves.toBe('old')
  })

  it('a 10 MB result and 10 MB of output are stored and read back whole', async () => {
    const size = 10 * 1024 * 1024
    const queue = new Queue({ broker })
    const f = await queue.submit(big, size)
    await new Worker(broker).runToEnd()
    const result = await f.result({ timeout: 20_000 })
    expect(typeof result === 'string' && result.length).toBe(size)
    const bytes = Buffer.alloc(size)
    for (let i = 0; i < size; i++) bytes[i] = (i * 31) & 0xff
    await broker.appendOutput(f.id, [
      { stream: 'stdout', data: bytes.subarray(0, 3), time: 1 },
      { stream: 'stdout', data: bytes.subarray(3), time: 2 },
    ])
    const chunks = await broker.getOutput([f.id])
    expect(chunks.map((c) => [c.seq, c.offset])).toEqual([
      [0, 0],
      [1, 3],
    ])
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(bytes)).toBe(true)
  })

  it('two brokers on one prefix racing to claim never get the same task', async () => {
    const other = new RedisBroker(broker.toUrl())
    await other.init()
    const queue = new Queue({ broker })
    const futures = await queue.submitMany(Array.from({ length: 300 }, (_, i) => ({ func: echo, args: [String(i)] })))
    const got: number[][] = [[], []]
    await Promise.all(
      [broker, other].map(async (b, n) => {
        for (;;) {
          const { tasks } = await b.claim({ worker: `w${n}`, limit: 7, leaseMs: 60_000, accept: () => true })
          if (tasks.length === 0) return
          got[n]?.push(...tasks.map((t) => t.id))
        }
      }),
    )
    const all = [...(got[0] ?? []), ...(got[1] ?? [])].sort((a, b) => a - b)
    // Each task exactly once: a duplicate would lengthen the list, a loss shorten it.
    expect(all).toEqual(futures.map((f) => f.id))
    await other.close()
  })

  it('publishes nothing while its own instance is the only listener, and everything once another listens', async () => {
    // A pattern subscription is not counted by PUBSUB NUMSUB: it watches without being a listener.
    const watcher = rawClient()
    const seen: string[] = []
    watcher.on('pmessage', (_pattern: string, _channel: string, message: string) => seen.push(message))
    await watcher.psubscribe(`${broker.location.prefix}:events`)
    const queue = new Queue({ broker })
    const worker = new Worker(broker)
    await broker.ready()
    try {
      const alone = await queue.submit(echo, 'alone')
      await worker.runToEnd()
      await expect(alone.result({ timeout: 10_000 })).resolves.toBe('alone')
      await new Promise((r) => setTimeout(r, 50))
      expect(seen).toEqual([])
      const other = new RedisBroker(broker.toUrl())
      const heard: string[] = []
      other.on('task_status', (payload) => heard.push((payload as StatusEvent).status))
      await other.ready()
      try {
        const shared = await queue.submit(echo, 'shared')
        await worker.runToEnd()
        await expect(shared.result({ timeout: 10_000 })).resolves.toBe('shared')
        await expect.poll(() => heard).toEqual(expect.arrayContaining(['pending', 'running', 'success']))
        expect(seen.length).toBeGreaterThan(0)
      } finally {
        await other.close()
      }
    } finally {
      watcher.disconnect()
    }
  })

  it('a task claimed and handed back at once is heard running, then pending again, by other processes', async () => {
    const queue = new Queue({ broker })
    const other = new RedisBroker(broker.toUrl())
    const heard: Array<[number, string]> = []
    other.on('task_status', (payload) => {
      const event = payload as StatusEvent
      for (const id of event.ids) heard.push([id, event.status])
    })
    await other.ready()
    await broker.ready()
    try {
      // One CPU: the first claim takes both tasks and hands the second back.
      const first = await queue.submitEx({ func: echo, args: ['first'], cpus: 1 })
      const second = await queue.submitEx({ func: echo, args: ['second'], cpus: 1 })
      const worker = new Worker(broker, { cpus: 1 })
      const running = worker.runForever()
      await expect.poll(() => heard.filter(([id, s]) => id === second.id && s === 'pending').length).toBeGreaterThanOrEqual(2)
      expect(heard.filter(([id]) => id === second.id).map(([, s]) => s)).toEqual(expect.arrayContaining(['pending', 'running', 'pending']))
      await expect(first.result({ timeout: 10_000 })).resolves.toBe('first')
      await expect(second.result({ timeout: 10_000 })).resolves.toBe('second')
      await worker.stop()
      await running
    } finally {
      await other.close()
    }
  })

  it('completion events carry small results and errors as stored, and leave large ones out', async () => {
    const fail = task('redis-test-fail', (message: string) => {
      throw new Error(message)
    })
    const queue = new Queue({ broker })
    // Another instance hears the events through pub/sub, as encoded by the scripts; the
    // submitting instance hears its own from the replies (no size limit there).
    const other = new RedisBroker(broker.toUrl())
    const remote = new Map<number, { status: string; outcome: string | undefined }>()
    const local = new Map<number, { status: string; outcome: string | undefined }>()
    let localCompletions = 0
    const record = (into: typeof remote) => (payload: unknown) => {
      const event = payload as StatusEvent
      for (const id of event.ids) {
        if (event.status === 'pending' || event.status === 'running') continue
        into.set(id, { status: event.status, outcome: event.outcomes?.[id] })
        if (into === local) localCompletions++
      }
    }
    other.on('task_status', record(remote))
    broker.on('task_status', record(local))
    await other.ready()
    await broker.ready()
    try {
      const tricky = 'quote " backslash \\ slash / newline \n tab \t é 漢字 \u0001 😀'
      const small = await queue.submit(echo, tricky)
      const large = await queue.submit(big, 5000)
      const failed = await queue.submit(fail, tricky)
      await new Worker(broker).runToEnd()
      await expect(small.result({ timeout: 10_000 })).resolves.toBe(tricky)
      await expect(failed.result({ timeout: 10_000 })).rejects.toThrow(tricky)
      const stored = await broker.fetchRecords([small.id, failed.id, large.id], ['result', 'error'])
      await expect.poll(() => remote.size).toBe(3)
      expect(remote.get(small.id)).toEqual({ status: 'success', outcome: stored.get(small.id)?.result })
      expect(remote.get(failed.id)).toEqual({ status: 'error', outcome: stored.get(failed.id)?.error })
      expect(remote.get(large.id)).toEqual({ status: 'success', outcome: undefined })
      expect(local.get(small.id)).toEqual({ status: 'success', outcome: stored.get(small.id)?.result })
      expect(local.get(failed.id)).toEqual({ status: 'error', outcome: stored.get(failed.id)?.error })
      expect(local.get(large.id)).toEqual({ status: 'success', outcome: stored.get(large.id)?.result })
      // Each event reached each instance once: the own-origin copies from pub/sub are skipped.
      await new Promise((r) => setTimeout(r, 50))
      expect(localCompletions).toBe(3)
    } finally {
      await other.close()
    }
  })

  it('the reason a worker stores while refusing a task claimed by count is there as soon as the claim returns', async () => {
    const queue = new Queue({ broker })
    const [a, b] = await queue.submitMany([{ func: echo, args: ['a'] }, { func: echo, args: ['b'] }])
    await broker.setReason(b?.id as number, 'an older reason')
    const accept = (t: { id: number }) => {
      if (t.id === a?.id) return true
      broker.setReason(t.id, 'not for this worker').catch(() => {})
      return false
    }
    const claimed = await broker.claim({ worker: 'picky', limit: 2, leaseMs: 30_000, accept })
    expect(claimed.tasks.map((t) => t.id)).toEqual([a?.id])
    // No wait: the reason went with the hand-back, in the same script.
    const back = (await broker.fetch([b?.id as number])).get(b?.id as number)
    expect(back).toMatchObject({ status: 'pending', attempt: 0, worker: null, reason: 'not for this worker' })
  })

  it('a reason is stored only on a pending task', async () => {
    const queue = new Queue({ broker })
    const f = await queue.submit(echo, 'x')
    await broker.claim({ worker: 'w', limit: 1, leaseMs: 30_000 })
    await broker.setReason(f.id, 'too late')
    expect((await broker.fetch([f.id])).get(f.id)).toMatchObject({ status: 'running', reason: null })
  })

  it('keys stay under the prefix and destroy() removes only them', async () => {
    await raw.set('aque-test-neighbour', 'kept')
    const queue = new Queue({ broker })
    await queue.submit(echo, 'x')
    const keys = await raw.keys('*')
    const ours = keys.filter((k) => k.startsWith(`${broker.location.prefix}:`))
    expect(ours.length).toBeGreaterThan(0)
    await broker.destroy()
    expect(await raw.keys(`${broker.location.prefix}:*`)).toEqual([])
    expect(await raw.get('aque-test-neighbour')).toBe('kept')
    await raw.del('aque-test-neighbour')
  })
})
