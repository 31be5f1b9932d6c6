// Farm features of the worker that do not depend on the broker: host rules, requirements,
// resource reservations, expectations, environment inheritance, piping, usage.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryBroker } from '@aque/broker-memory'
import { describe, expect, it } from 'vitest'
import { ExpectationError, Queue, Worker } from '../src/index.js'
import { hostMatches } from '../src/worker/host-rules.js'

const identity = { names: ['render07.studio.lan', 'render07', 'r7'], addresses: ['10.1.4.7', 'fe80::1', '127.0.0.1'] }

describe('host rules', () => {
  it('match globs, aliases, addresses and CIDR masks, with exclusions', () => {
    expect(hostMatches('render*', identity)).toBe(true)
    expect(hostMatches('r7', identity)).toBe(true)
    expect(hostMatches('comp*', identity)).toBe(false)
    expect(hostMatches('comp*, render0?', identity)).toBe(true)
    expect(hostMatches('10.1.0.0/16', identity)).toBe(true)
    expect(hostMatches('10.2.0.0/16', identity)).toBe(false)
    expect(hostMatches('10.1.4.7', identity)).toBe(true)
    expect(hostMatches('!render07', identity)).toBe(false)
    expect(hostMatches('!comp*', identity)).toBe(true)
    expect(hostMatches('render*, !10.1.4.0/24', identity)).toBe(false)
    expect(() => hostMatches('10.0.0.0/99', identity)).toThrow(/CIDR/)
  })
})

async function setup(options: ConstructorParameters<typeof Worker>[1] = {}) {
  const broker = new MemoryBroker()
  const queue = new Queue({ broker })
  const worker = new Worker(broker, { pollMs: 50, ...options })
  return { broker, queue, worker }
}

describe('farm worker', () => {
  it('reserves CPUs: two tasks of 2 CPUs on a 2-CPU worker run one after the other, four of 0.5 together', async () => {
    const { queue, worker } = await setup({ cpus: 2 })
    let running = 0
    let most = 0
    const job = async () => {
      running++
      most = Math.max(most, running)
      await new Promise((r) => setTimeout(r, 40))
      running--
    }
    await queue.submitMany([{ func: job, cpus: 2 }, { func: job, cpus: 2 }])
    await worker.runToEnd()
    expect(most).toBe(1)
    most = 0
    await queue.submitMany(Array.from({ length: 4 }, () => ({ func: job, cpus: 0.5 })))
    await worker.runToEnd()
    expect(most).toBe(4)
    most = 0
    await queue.submitMany(Array.from({ length: 4 }, () => ({ func: job, cpus: -2 })))
    await worker.runToEnd()
    expect(most).toBe(2)
  })

  it('leaves a task it can never run pending, with the reason, without blocking the others', async () => {
    const { queue, worker } = await setup({ hostname: 'render07' })
    const elsewhere = await queue.submitEx({ func: () => 1, host: 'comp*' })
    const here = await queue.submitEx({ func: () => 2, host: 'render*', priority: 1 })
    const tooBig = await queue.submitEx({ func: () => 3, cpus: 10_000 })
    const noDir = await queue.submitEx({ func: () => 4, cwd: '/no/such/dir' })
    await worker.runToEnd()
    expect(await here.result()).toBe(2)
    for (const f of [elsewhere, tooBig, noDir]) expect(await f.status()).toBe('pending')
    expect((await elsewhere.task()).reason).toMatch(/host comp\*/)
    expect((await tooBig.task()).reason).toMatch(/CPUs/)
    expect((await noDir.task()).reason).toMatch(/no\/such\/dir/)
  })

  it('checks expected files after success', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aque-expects-'))
    writeFileSync(join(dir, 'ok.txt'), 'x')
    writeFileSync(join(dir, 'empty.txt'), '')
    const { queue, worker } = await setup()
    const good = await queue.submitEx({ func: () => 1, cwd: dir, expects: { files: ['ok.txt'] } })
    const bad = await queue.submitEx({ func: () => 1, cwd: dir, expects: { files: ['ok.txt', 'empty.txt', 'gone.txt'] } })
    await worker.runToEnd()
    expect(await good.result()).toBe(1)
    const err = await bad.exception()
    expect(err).toBeInstanceOf(ExpectationError)
    expect(err?.message).toMatch(/empty\.txt \(empty\), gone\.txt \(missing\)/)
  })

  it('runs shell tasks with the group environment, AQUE_TID, and stdin piped from another task', async () => {
    const { queue, worker } = await setup()
    const group = await queue.submitEx({ pattern: null, environ: { SHOT: 'sh010' } })
    const child = await queue.submitEx({ pattern: 'shell', args: ['bash', '-c', 'echo "$SHOT $AQUE_TID"'], parent: group })
    await worker.runToEnd()
    await child.result()
    const text = async (id: number) =>
      Buffer.concat((await queue.broker().then((b) => b.getOutput([id]))).filter((c) => c.stream === 'stdout').map((c) => c.data)).toString()
    expect(await text(child.id)).toBe(`sh010 ${child.id}\n`)
    const piped = await queue.submitEx({ pattern: 'shell', args: ['tr', 'a-z', 'A-Z'], dependencies: [child], pipeFrom: child.id })
    await worker.runToEnd()
    await piped.result()
    expect(await text(piped.id)).toBe(`SH010 ${child.id}\n`)
  })

  it('fills scheduling hints from path arguments of shell tasks: bigger inputs first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aque-hints-'))
    writeFileSync(join(dir, 'small'), 'x'.repeat(10))
    writeFileSync(join(dir, 'big'), 'x'.repeat(10_000))
    const { queue, worker } = await setup({ concurrency: 1 })
    const small = await queue.submitEx({ pattern: 'shell', args: ['cat', 'small'], cwd: dir })
    const big = await queue.submitEx({ pattern: 'shell', args: ['cat', 'big'], cwd: dir })
    expect((await big.task()).ioPaths).toEqual([join(dir, 'big')])
    expect((await big.task()).duration).toBe(10_000)
    await worker.runToEnd()
    expect((await big.task()).startedAt ?? 0).toBeLessThanOrEqual((await small.task()).startedAt ?? 0)
  })

  it('samples CPU and memory of a shell task into usage', async () => {
    const { queue, worker } = await setup({ usageMs: 50 })
    const f = await queue.submitEx({ pattern: 'shell', args: ['bash', '-c', 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'] })
    await worker.runToEnd()
    await f.result()
    const usage = (await f.task()).usage
    expect(usage?.maxRss ?? 0).toBeGreaterThan(0)
    expect(usage?.cpuSeconds ?? 0).toBeGreaterThan(0)
    const chunks = await (await queue.broker()).getOutput([f.id])
    expect(chunks.some((c) => c.stream === 'usage')).toBe(true)
  })
})

describe('kill and shutdown', () => {
  it('kills a task with its dependencies', async () => {
    const { queue, broker } = await setup()
    const leaf = { pattern: 'shell', args: ['true'] }
    const mid = { pattern: 'shell', args: ['true'], dependencies: [leaf] }
    const top = await queue.submitEx({ pattern: 'shell', args: ['true'], dependencies: [mid] })
    const unrelated = await queue.submit(() => 1)
    await broker.kill([top.id], 'SIGTERM', { dependencies: true })
    const tasks = await broker.fetch([1, 2, 3, unrelated.id], ['status'])
    expect([1, 2, 3].map((id) => tasks.get(id)?.status)).toEqual(['killed', 'killed', 'killed'])
    expect(tasks.get(unrelated.id)?.status).toBe('pending')
  })

  it('stop with a grace period kills what still runs and hands it back to pending', async () => {
    const { queue, worker, broker } = await setup()
    const f = await queue.submitEx({ pattern: 'shell', args: ['sleep', '30'] })
    const started = new Promise<void>((resolve) => broker.on(`task_status.${f.id}`, (p) => (p as { status: string }).status === 'running' && resolve()))
    const running = worker.runForever()
    await started
    const pid = await new Promise<number>((resolve) => {
      const poll = setInterval(() => {
        const pid = worker.pidOf(f.id)
        if (pid) {
          clearInterval(poll)
          resolve(pid)
        }
      }, 5)
    })
    await worker.stop({ graceMs: 50 })
    await running
    expect(await f.status()).toBe('pending')
    expect((await f.task()).attempt).toBe(1)
    // The process group is gone.
    await new Promise((r) => setTimeout(r, 100))
    expect(() => process.kill(-pid, 0)).toThrow()
  })
})
