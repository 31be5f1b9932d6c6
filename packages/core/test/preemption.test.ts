// Preemption: a worker with `preempt` suspends lower-priority tasks for an urgent one that does
// not fit, and resumes them once it ended; `currentTask().yield()` is where function tasks let it.
import { randomBytes } from 'node:crypto'
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryBroker } from '@aque/broker-memory'
import { afterEach, describe, expect, it } from 'vitest'
import { Queue, TaskKilledError, Worker, currentTask } from '../src/index.js'

const workers: Worker[] = []
const gates: string[] = []
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop({ graceMs: 500 })
  for (const path of gates.splice(0)) rmSync(path, { force: true })
})

/**
 * A shell command that runs until the test opens its gate (a file it waits for): an urgent
 * task that ends when the test has seen what it looks for while the others are suspended, not
 * after a sleep that a loaded machine can outlast before the test looks.
 */
function gate(): { args: string[]; open(): void } {
  const path = join(tmpdir(), `aque-gate-${process.pid}-${randomBytes(4).toString('hex')}`)
  gates.push(path)
  return { args: ['sh', '-c', `while [ ! -e '${path}' ]; do sleep 0.02; done`], open: () => writeFileSync(path, '') }
}

function setup(options: ConstructorParameters<typeof Worker>[1] = {}) {
  const broker = new MemoryBroker()
  const queue = new Queue({ broker })
  const worker = new Worker(broker, { pollMs: 50, cpus: 2, preempt: true, ...options })
  workers.push(worker)
  return { broker, queue, worker }
}

/** The state letter of a process in /proc (R, S, T…), or null once it is gone. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return null
  }
}

/** The state letters (R, S, T, D…) of the processes of a process group, from /proc. */
function groupStates(pgid: number): string[] {
  const states: string[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // After "pid (comm) ": state, ppid, pgrp, …
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(pgrp) === pgid && state) states.push(state)
    } catch {
      // gone meanwhile
    }
  }
  return states
}

/**
 * Whether a process group is stopped: some of it stopped (T) and none of it running or
 * sleeping. A shell stopped while it forks its next command waits in D for the child, which
 * SIGSTOP caught before it ran the command (vfork): that shell is stopped too. A command that
 * ended just as the group was stopped stays a zombie (Z) until its stopped shell reaps it.
 */
function groupStopped(pgid: number): boolean {
  const states = groupStates(pgid)
  return states.includes('T') && states.every((s) => s === 'T' || s === 'D' || s === 'Z')
}

/** Waits until every group of `pids` is stopped; the error names the states seen last. */
async function untilStopped(pids: number[]): Promise<void> {
  try {
    await until(() => pids.every(groupStopped), 'the low process groups to be stopped')
  } catch (err) {
    throw new Error(`${(err as Error).message}; their states: ${JSON.stringify(pids.map(groupStates))}`)
  }
}

async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const counter = (n: number) => ['sh', '-c', `i=0; while [ $i -lt ${n} ]; do echo $i; sleep 0.02; i=$((i+1)); done`]

describe('preempt', () => {
  it('SIGSTOPs the lower-priority shell tasks an urgent task needs, runs it, then resumes them', { timeout: 20_000 }, async () => {
    const { broker, queue, worker } = setup()
    const low = await queue.submitMany([
      { pattern: 'shell', args: counter(40), cpus: 1, priority: 1 },
      { pattern: 'shell', args: counter(40), cpus: 1, priority: 1 },
    ])
    const run = worker.runForever()
    const pids = await until(() => {
      const p = low.map((f) => worker.pidOf(f.id))
      return p.every((x) => x !== null) && (p as number[])
    }, 'both low tasks to start')
    const urgentGate = gate()
    const urgent = await queue.submitEx({ pattern: 'shell', args: urgentGate.args, cpus: 2, priority: 10 })
    await until(async () => (await urgent.status()) === 'running', 'the urgent task to run')
    for (const f of low) expect(await f.status()).toBe('suspended')
    // SIGSTOP is delivered asynchronously: the state letter follows within moments.
    await untilStopped(pids)
    urgentGate.open()
    await urgent.result({ timeout: 10_000 })
    await until(async () => (await Promise.all(low.map((f) => f.status()))).every((s) => s === 'running' || s === 'success'), 'the low tasks to resume')
    await until(() => pids.every((pid) => !groupStates(pid).includes('T')), 'both low process groups to be continued')
    for (const f of low) expect(await f.result({ timeout: 10_000 })).toBe(0)
    // Each ran once, whole: 40 lines of output.
    for (const f of low) {
      const out = Buffer.concat((await broker.getOutput([f.id])).filter((c) => c.stream === 'stdout').map((c) => c.data)).toString()
      expect(out.trim().split('\n')).toHaveLength(40)
      expect((await f.task()).attempt).toBe(1)
    }
    const started = await Promise.all([...low, urgent].map(async (f) => (await f.task()).startedAt ?? 0))
    expect(Math.max(...started.slice(0, 2))).toBeLessThan(started[2] ?? 0)
    await worker.stop()
    await run
  })

  it('suspends only as many tasks as the urgent one needs, the lowest priority first', { timeout: 20_000 }, async () => {
    const { queue, worker } = setup({ cpus: 3 })
    const [p1, p2, p3] = await queue.submitMany([
      { pattern: 'shell', args: counter(30), cpus: 1, priority: 3 },
      { pattern: 'shell', args: counter(30), cpus: 1, priority: 1 },
      { pattern: 'shell', args: counter(30), cpus: 1, priority: 2 },
    ])
    const run = worker.runForever()
    await until(() => [p1, p2, p3].every((f) => f && worker.pidOf(f.id) !== null), 'three tasks to start')
    const urgentGate = gate()
    const urgent = await queue.submitEx({ pattern: 'shell', args: urgentGate.args, cpus: 1, priority: 10 })
    await until(async () => (await urgent.status()) === 'running', 'the urgent task to run')
    expect(await p2?.status()).toBe('suspended')
    expect(await p1?.status()).toBe('running')
    expect(await p3?.status()).toBe('running')
    urgentGate.open()
    await urgent.result({ timeout: 10_000 })
    for (const f of [p1, p2, p3]) expect(await f?.result({ timeout: 10_000 })).toBe(0)
    await worker.stop()
    await run
  })

  it('stops a shell task whose process group was not known yet once it is, without waiting for the poll', { timeout: 20_000 }, async () => {
    // The poll is a minute away: only the start of the low tasks' groups can wake the worker.
    const { queue, worker } = setup({ pollMs: 60_000 })
    // Silent for their first 0.3 s, so that their pids come from the spawner a little after their start.
    const quiet = ['sh', '-c', 'sleep 0.3; i=0; while [ $i -lt 20 ]; do echo $i; sleep 0.02; i=$((i+1)); done']
    const low = await queue.submitMany([0, 1].map(() => ({ pattern: 'shell', args: quiet, cpus: 1, priority: 1 })))
    const run = worker.runForever()
    for (let i = 0; worker.runningIds.length < 2; i++) {
      if (i > 100_000) throw new Error('the low tasks did not start')
      await new Promise((r) => setImmediate(r))
    }
    // The case under test: the urgent task is claimed while a low task's group is unknown.
    expect(low.some((f) => worker.pidOf(f.id) === null)).toBe(true)
    const urgentGate = gate()
    const urgent = await queue.submitEx({ pattern: 'shell', args: urgentGate.args, cpus: 2, priority: 10 })
    await until(async () => (await urgent.status()) === 'running', 'the urgent task to run', 5000)
    for (const f of low) expect(await f.status()).toBe('suspended')
    urgentGate.open()
    expect(await urgent.result({ timeout: 10_000 })).toBe(0)
    for (const f of low) expect(await f.result({ timeout: 10_000 })).toBe(0)
    await worker.stop()
    await run
  })

  it('keeps the room of a suspended task for it: a ready task of lower priority waits until it ended', { timeout: 20_000 }, async () => {
    const { queue, worker } = setup()
    const mid = await queue.submitEx({ pattern: 'shell', args: counter(25), cpus: 2, priority: 5 })
    const run = worker.runForever()
    await until(() => worker.pidOf(mid.id) !== null, 'the task of priority 5 to start')
    const urgentGate = gate()
    const urgent = await queue.submitEx({ pattern: 'shell', args: urgentGate.args, cpus: 2, priority: 10 })
    await until(async () => (await mid.status()) === 'suspended', 'the task of priority 5 to be suspended')
    const low = await queue.submitEx({ pattern: 'shell', args: ['true'], cpus: 2, priority: 1 })
    urgentGate.open()
    await urgent.result({ timeout: 10_000 })
    await mid.result({ timeout: 10_000 })
    await low.result({ timeout: 10_000 })
    const [m, l] = await Promise.all([mid.task(), low.task()])
    expect(l.startedAt ?? 0).toBeGreaterThanOrEqual(m.finishedAt ?? Number.POSITIVE_INFINITY)
    await worker.stop()
    await run
  })

  it('leaves everything alone without preempt, or when the urgent task would not fit anyway', { timeout: 20_000 }, async () => {
    const { queue, worker } = setup({ preempt: false })
    const low = await queue.submitEx({ pattern: 'shell', args: counter(15), cpus: 2, priority: 1 })
    const run = worker.runForever()
    await until(() => worker.pidOf(low.id) !== null, 'the low task to start')
    const urgent = await queue.submitEx({ pattern: 'shell', args: ['true'], cpus: 2, priority: 10 })
    await new Promise((r) => setTimeout(r, 150))
    expect(await low.status()).toBe('running')
    expect(await urgent.status()).toBe('pending')
    await urgent.result({ timeout: 10_000 })
    await worker.stop()
    await run

    const second = setup({ cpus: 2 })
    const low2 = await second.queue.submitEx({ pattern: 'shell', args: counter(10), cpus: 1, priority: 1 })
    const run2 = second.worker.runForever()
    await until(() => second.worker.pidOf(low2.id) !== null, 'the low task to start')
    // A task no lower-priority run can make room for (it needs more than the worker has) changes nothing.
    const huge = await second.queue.submitEx({ pattern: 'shell', args: ['true'], cpus: 3, priority: 10 })
    await new Promise((r) => setTimeout(r, 150))
    expect(await low2.status()).toBe('running')
    expect(await huge.status()).toBe('pending')
    await low2.result({ timeout: 10_000 })
    await second.worker.stop()
    await run2
  })

  it('kills a suspended shell task: its stopped group is continued so that the signal ends it', { timeout: 20_000 }, async () => {
    const { broker, queue, worker } = setup()
    const low = await queue.submitEx({ pattern: 'shell', args: ['sleep', '30'], cpus: 2, priority: 1 })
    const run = worker.runForever()
    const pid = await until(() => worker.pidOf(low.id) ?? undefined, 'the low task to start')
    const urgent = await queue.submitEx({ pattern: 'shell', args: ['sleep', '5'], cpus: 2, priority: 10 })
    await until(async () => (await low.status()) === 'suspended', 'the low task to be suspended')
    await until(() => procState(pid) === 'T', 'the low task to stop')
    await broker.kill([low.id])
    expect(await low.exception({ timeout: 10_000 })).toBeInstanceOf(TaskKilledError)
    await until(() => procState(pid) === null || procState(pid) === 'Z', 'the low process to end')
    await broker.kill([urgent.id])
    await urgent.exception({ timeout: 10_000 })
    await worker.stop()
    await run
  })
})

describe('currentTask().yield()', () => {
  it('resolves at once when no worker wants the room', async () => {
    const { queue, worker } = setup({ preempt: false })
    const f = await queue.submit(async () => {
      const t0 = Date.now()
      for (let i = 0; i < 100; i++) await currentTask().yield()
      return Date.now() - t0
    })
    await worker.runToEnd()
    expect(await f.result()).toBeLessThan(1000)
  })

  it('suspends a function task at its next yield for an urgent task, then lets it go on', { timeout: 20_000 }, async () => {
    const { queue, worker } = setup()
    const events: string[] = []
    let lowId = 0
    const low = await queue.submitEx({
      func: async () => {
        lowId = currentTask().id
        for (let i = 0; i < 50; i++) {
          await new Promise((r) => setTimeout(r, 10))
          await currentTask().yield()
        }
        events.push('low done')
        return 'low'
      },
      cpus: 2,
      priority: 1,
    })
    const run = worker.runForever()
    await until(() => lowId !== 0, 'the low task to start')
    const urgent = await queue.submitEx({
      func: async () => {
        const seen = (await currentTask().broker.fetch([lowId], ['status'])).get(lowId)?.status
        events.push(`urgent saw low ${String(seen)}`)
        return 'urgent'
      },
      cpus: 2,
      priority: 10,
    })
    expect(await urgent.result({ timeout: 10_000 })).toBe('urgent')
    expect(await low.result({ timeout: 10_000 })).toBe('low')
    expect(events).toEqual(['urgent saw low suspended', 'low done'])
    expect((await low.task()).status).toBe('success')
    await worker.stop()
    await run
  })
})
