/**
 * The farm worker in real processes on Redis and PostgreSQL: CPU reservations, host rules,
 * killing a shell task with its children, progress and log records from inside a shell task,
 * usage sampling. Workers are `aque worker` (or fixtures/farm-worker.mjs) running the built
 * packages (`npm run build` first); every test has its own broker namespace and checks that
 * no process it started is left behind.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Future, TaskKilledError, decode } from '@aque/core'
import { afterEach, describe, expect, it } from 'vitest'
import { BIN, BROKERS, Farm, groupMembers, until } from './fixtures/farm-harness.js'

const farms: Farm[] = []
afterEach(async () => {
  for (const farm of farms.splice(0)) await farm.close()
})

async function farm(url: string): Promise<Farm> {
  const f = await Farm.open(url)
  farms.push(f)
  return f
}

const shell = (script: string, extra: Record<string, unknown> = {}) => ({ pattern: 'shell', args: ['bash', '-c', script], ...extra })
const results = (futures: Future<unknown>[]) => Promise.all(futures.map((f) => f.result({ timeout: 20_000 })))

/** Lines "<kind> <id> <nanoseconds>" that shell tasks appended to `file`. */
function events(file: string): Array<{ kind: string; id: number; ns: bigint }> {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [kind, id, ns] = line.split(' ')
      return { kind: kind as string, id: Number(id), ns: BigInt(ns as string) }
    })
}

describe.each(BROKERS)('farm worker on $name', ({ url }) => {
  it('reserves CPUs: two tasks of 2 CPUs on a 2-CPU worker run one after the other, four of 0.5 together', async () => {
    const f = await farm(url())
    await f.worker(['-c', '2'])
    const tooBig = await f.queue.submitEx(shell('true', { cpus: 3 }))
    const whole = join(f.dir, 'whole.txt')
    const note = (file: string, kind: string) => `echo "${kind} $AQUE_TID $(date +%s%N)" >> ${file}`
    const big = await f.queue.submitMany([0, 1].map(() => shell(`${note(whole, 'start')}; sleep 0.3; ${note(whole, 'end')}`, { cpus: 2 })))
    await results(big)
    const first = events(whole)
    expect(first.map((e) => e.kind)).toEqual(['start', 'end', 'start', 'end'])
    expect(first[0]?.id).toBe(first[1]?.id)
    expect(first[2]?.id).toBe(first[3]?.id)
    expect((first[1]?.ns ?? 0n) <= (first[2]?.ns ?? -1n)).toBe(true)

    // Each waits (up to 20 s) until all four have started: they end together only if they ran together.
    const quarter = join(f.dir, 'quarter.txt')
    const barrier = `for i in $(seq 400); do [ "$(grep -c ^start ${quarter})" -ge 4 ] && break; sleep 0.05; done`
    const small = await f.queue.submitMany([0, 1, 2, 3].map(() => shell(`${note(quarter, 'start')}; ${barrier}; ${note(quarter, 'end')}`, { cpus: 0.5 })))
    await results(small)
    const second = events(quarter)
    expect(second.map((e) => e.kind)).toEqual(['start', 'start', 'start', 'start', 'end', 'end', 'end', 'end'])
    expect(new Set(second.map((e) => e.id))).toEqual(new Set(small.map((s) => s.id)))
    // More than the worker has: it waits, saying why.
    expect((await f.broker.fetch([tooBig.id], ['status', 'reason'])).get(tooBig.id)).toMatchObject({
      status: 'pending',
      reason: 'needs 3 CPUs, workers have at most 2',
    })
  })

  it('host rules: globs, exclusions and CIDR masks pick the worker; a task no worker can take waits with a reason', async () => {
    const f = await farm(url())
    await f.worker(['-c', '4', '--hostname', 'alpha-1'])
    await f.worker(['-c', '4', '--hostname', 'beta-1'])
    const job = shell('sleep 0.1')
    const onAlpha = await f.queue.submitMany([0, 1, 2, 3].map(() => ({ ...job, host: 'alpha-*' })))
    const onBeta = await f.queue.submitMany([0, 1, 2, 3].map(() => ({ ...job, host: '!alpha-*' })))
    const anywhere = await f.queue.submitMany([0, 1].map(() => ({ ...job, host: '127.0.0.0/8' })))
    const loopbackNotBeta = await f.queue.submitMany([0, 1].map(() => ({ ...job, host: '127.0.0.0/8, !beta*' })))
    const noName = await f.queue.submitEx({ ...job, host: 'zeta*' })
    // TEST-NET-2: no interface of this machine is in it.
    const noNet = await f.queue.submitEx({ ...job, host: '198.51.100.0/24' })
    await results([...onAlpha, ...onBeta, ...anywhere, ...loopbackNotBeta])
    const ranOn = async (futures: Future<unknown>[]) => {
      const records = await f.broker.fetch(
        futures.map((x) => x.id),
        ['worker'],
      )
      return futures.map((x) => String(records.get(x.id)?.worker).split('/')[0])
    }
    expect(await ranOn(onAlpha)).toEqual(['alpha-1', 'alpha-1', 'alpha-1', 'alpha-1'])
    expect(await ranOn(onBeta)).toEqual(['beta-1', 'beta-1', 'beta-1', 'beta-1'])
    expect(await ranOn(loopbackNotBeta)).toEqual(['alpha-1', 'alpha-1'])
    for (const host of await ranOn(anywhere)) expect(['alpha-1', 'beta-1']).toContain(host)

    const reasons = async () => {
      const records = await f.broker.fetch([noName.id, noNet.id], ['status', 'reason'])
      return [noName, noNet].map((x) => records.get(x.id))
    }
    await until('both workers to give their reasons', async () => (await reasons()).every((r) => r?.reason))
    const [a, b] = await reasons()
    expect(a?.status).toBe('pending')
    expect(a?.reason).toBe('needs host zeta*')
    expect(b?.status).toBe('pending')
    expect(b?.reason).toBe('needs host 198.51.100.0/24')
  })

  it('kill of a running shell task ends its whole process group, children included, even when they ignore SIGTERM', async () => {
    const f = await farm(url())
    const worker = await f.worker(['-c', '2'])
    const started = async (script: string) => {
      const pidFile = join(f.dir, `pid-${Math.random()}`)
      const task = await f.queue.submitEx(shell(`echo $$ > ${pidFile}; ${script}`))
      let pgid = 0
      await until('the task and both its children run', async () => {
        try {
          pgid = Number(readFileSync(pidFile, 'utf8'))
        } catch {
          return false
        }
        return groupMembers(pgid).length === 3 && (await task.status()) === 'running'
      })
      return { task, pgid }
    }
    const plain = await started('sleep 300 & sleep 300 & wait')
    // SIG_IGN is inherited: neither the shell nor its children stop on SIGTERM.
    const stubborn = await started("trap '' TERM; sleep 300 & sleep 300 & wait")
    await f.broker.kill([plain.task.id, stubborn.task.id])
    const groupExists = (pgid: number) => {
      try {
        process.kill(-pgid, 0)
        return true
      } catch {
        return false
      }
    }
    // Zombies count for kill(-pgid, 0) until their new parent reaps them.
    await until('the process groups to be gone', () => [plain.pgid, stubborn.pgid].every((g) => groupMembers(g).length === 0 && !groupExists(g)), 20_000)
    for (const { task } of [plain, stubborn]) {
      expect(await task.status()).toBe('killed')
      expect(await task.exception()).toBeInstanceOf(TaskKilledError)
    }
    // The worker is free again and its late finishes changed nothing.
    const next = await f.queue.submitEx(shell('true'))
    expect(await next.result({ timeout: 20_000 })).toBe(0)
    expect(await plain.task.status()).toBe('killed')
    expect(worker.exitCode).toBe(null)
  })

  it('progress and log records from inside a shell task (aque progress, aque log)', async () => {
    const f = await farm(url())
    await f.worker(['-c', '2'])
    const aque = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`
    const task = await f.queue.submitEx(shell(`${aque} progress 3/10 "frame 3 of 10" && ${aque} log frame 3 took 2 tries && echo "$AQUE_TID"`))
    expect(await task.result({ timeout: 20_000 })).toBe(0)
    const record = (await f.broker.fetch([task.id], ['progress'])).get(task.id)
    expect(record?.progress).toMatchObject({ done: 3, total: 10, message: 'frame 3 of 10' })
    const chunks = await f.broker.getOutput([task.id])
    const text = (stream: string) =>
      Buffer.concat(
        chunks
          .filter((c) => c.stream === stream)
          .sort((x, y) => x.offset - y.offset)
          .map((c) => c.data),
      ).toString()
    expect(text('stdout')).toBe(`${task.id}\n`)
    const logs = text('log')
      .trim()
      .split('\n')
      .map((line) => decode(line) as { time: number; values: unknown[] })
    expect(logs.map((l) => l.values)).toEqual([['frame 3 took 2 tries']])
    expect(typeof logs[0]?.time).toBe('number')
  })

  it('usage: a CPU-busy shell task gets CPU seconds, peak RSS and usage records', async () => {
    const f = await farm(url())
    await f.worker(['-c', '2'])
    const task = await f.queue.submitEx(shell('i=0; while [ $i -lt 250000 ]; do i=$((i+1)); done'))
    expect(await task.result({ timeout: 20_000 })).toBe(0)
    const usage = (await f.broker.fetch([task.id], ['usage'])).get(task.id)?.usage
    expect(usage?.cpuSeconds ?? 0).toBeGreaterThan(0)
    expect(usage?.maxRss ?? 0).toBeGreaterThan(0)
    const records = (await f.broker.getOutput([task.id])).filter((c) => c.stream === 'usage')
    expect(records.length).toBeGreaterThan(0)
    const last = JSON.parse(Buffer.from(records[records.length - 1]?.data ?? []).toString().trim().split('\n').pop() ?? '{}')
    expect(last.cpuSeconds).toBeGreaterThan(0)
    expect(last.maxRss).toBeGreaterThan(0)
  })
})
