/**
 * Faults of the Redis broker, with real processes: a Redis server restarted under load (the
 * test starts its own on a free loopback port, with AOF persistence) and a worker killed with
 * SIGKILL in the middle of a task. Workers run the built packages (dist/: `npm run build`
 * first) in subprocesses; every execution is counted in a file outside Redis and the workers.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Future, Queue } from '@aque/core'
import { RedisBroker } from '@aque/broker-redis'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { double } from './fixtures/redis-tasks.mjs'

const WORKER = fileURLToPath(new URL('./fixtures/redis-worker.mjs', import.meta.url))
const children: ChildProcess[] = []
const cleanups: Array<() => Promise<void> | void> = []

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

function startWorker(url: string, runs: string, concurrency: number, leaseMs: number): ChildProcess {
  const child = spawn(process.execPath, [WORKER, url, String(concurrency), String(leaseMs)], {
    env: { ...process.env, AQUE_E2E_RUNS: runs },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  children.push(child)
  return child
}

/** Lines "start|end <id> <attempt>" of the runs file, counted per id. */
function runs(file: string, what: 'start' | 'end'): Map<number, number> {
  const out = new Map<number, number>()
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [kind, id] = line.split(' ')
    if (kind === what) out.set(Number(id), (out.get(Number(id)) ?? 0) + 1)
  }
  return out
}

/** A redis-server of this test's own, on a random loopback port, persisting to `dir` with AOF. */
function startRedis(port: number, dir: string): ChildProcess {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir], { stdio: 'ignore' })
  children.push(child)
  return child
}

async function ping(port: number): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aque-e2e-redis-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'runs.txt')
  writeFileSync(file, '')
  return file
}

describe('redis faults', () => {
  it('Redis restarted with 1,000 tasks queued and workers running: every task completes exactly once', async () => {
    const port = 6390 + Math.floor(Math.random() * 500)
    const dir = mkdtempSync(join(tmpdir(), 'aque-e2e-redis-data-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    let server = startRedis(port, dir)
    await until('the test Redis to start', () => ping(port), 10_000)
    const broker = new RedisBroker(`redis://127.0.0.1:${port}/0?prefix=faults`)
    cleanups.push(() => broker.close())
    await broker.init()
    const file = tempFile()
    const queue = new Queue({ broker })
    const futures: Future<unknown>[] = await queue.submitMany(Array.from({ length: 1000 }, (_, i) => ({ func: double, args: [i, 5] })))
    const results = Promise.all(futures.map((f) => f.result({ timeout: 90_000 })))
    startWorker(broker.toUrl(), file, 8, 3000)
    startWorker(broker.toUrl(), file, 8, 3000)
    await until('some tasks to complete', async () => (await broker.counts()).success >= 200, 30_000)

    // The restart must happen with work left: queued tasks and workers in the middle of others.
    expect((await broker.counts()).success).toBeLessThan(1000)
    const stopped = new Promise((resolve) => server.once('exit', resolve))
    // No reconnection for this client: SHUTDOWN gets no reply, the connection just closes.
    const admin = new Redis({ port, host: '127.0.0.1', retryStrategy: () => null, maxRetriesPerRequest: 0 })
    admin.on('error', () => {})
    await admin.shutdown().catch(() => {})
    await stopped
    admin.disconnect()
    await sleep(300)
    server = startRedis(port, dir)

    const values = await results
    expect(values).toEqual(futures.map((_, i) => i * 2))
    const counts = await broker.counts()
    expect(counts.success).toBe(1000)
    const ends = runs(file, 'end')
    expect(ends.size).toBe(1000)
    for (const f of futures) expect(ends.get(f.id)).toBe(1)
    cleanups.push(async () => {
      server.kill('SIGKILL')
    })
  }, 120_000)

  it('a worker killed with SIGKILL mid-task: another runs it after the lease, and it completes once', async () => {
    const broker = new RedisBroker(`redis://127.0.0.1:6379/0?prefix=aque-e2e-${randomBytes(6).toString('hex')}`)
    cleanups.push(async () => {
      await broker.destroy()
      await broker.close()
    })
    await broker.init()
    const file = tempFile()
    const queue = new Queue({ broker })
    const future = await queue.submit(double, 21, 1500)
    const first = startWorker(broker.toUrl(), file, 1, 1000)
    await until('the task to start', () => (runs(file, 'start').get(future.id) ?? 0) === 1, 15_000)
    first.kill('SIGKILL')
    startWorker(broker.toUrl(), file, 1, 1000)
    await expect(future.result({ timeout: 20_000 })).resolves.toBe(42)
    expect(runs(file, 'start').get(future.id)).toBe(2)
    expect(runs(file, 'end').get(future.id)).toBe(1)
    const stored = (await broker.fetch([future.id])).get(future.id)
    expect(stored?.status).toBe('success')
    expect(stored?.attempt).toBe(2)
  }, 60_000)
})
