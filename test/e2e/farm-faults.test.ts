/**
 * The farm worker under load and faults, in real processes on Redis and PostgreSQL: 50 MB of
 * output stored in few chunks and reassembled byte for byte, a worker SIGKILLed in the middle
 * of its tasks (another one finishes them after the lease, each exactly once), and SIGHUP
 * restarts of `aque worker` with tasks queued and running (none lost, none run twice).
 * Workers run the built packages (`npm run build` first); executions are counted in a file
 * outside the broker and the workers.
 */
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BROKERS, Farm, TASKS, countRuns, exited, groupMembers, until } from './fixtures/farm-harness.js'
import { farmNote } from './fixtures/farm-tasks.mjs'

const farms: Farm[] = []
afterEach(async () => {
  for (const farm of farms.splice(0)) await farm.close()
})

async function farm(url: string): Promise<Farm> {
  const f = await Farm.open(url)
  farms.push(f)
  return f
}

const OUTPUT_BYTES = 50_000_000
/** Size of one read of a pipe: what the shell pattern gets from the child per `data` event. */
const PIPE_READ = 65_536

describe.each(BROKERS)('farm worker faults on $name', ({ url }) => {
  it('50 MB of output is stored in few chunks and reassembled byte for byte', async () => {
    const f = await farm(url())
    await f.worker(['-c', '1'])
    const file = join(f.dir, 'out.bin')
    const task = await f.queue.submitEx({ pattern: 'shell', args: ['bash', '-c', `head -c ${OUTPUT_BYTES} /dev/urandom | tee ${file}`] })
    expect(await task.result({ timeout: 40_000 })).toBe(0)
    const chunks = (await f.broker.getOutput([task.id])).filter((c) => c.stream === 'stdout').sort((a, b) => a.offset - b.offset)
    const hash = createHash('sha256')
    let offset = 0
    for (const c of chunks) {
      // Chunks follow each other without gap or overlap.
      expect(c.offset).toBe(offset)
      offset += c.data.byteLength
      hash.update(c.data)
    }
    expect(offset).toBe(OUTPUT_BYTES)
    expect(statSync(file).size).toBe(OUTPUT_BYTES)
    expect(hash.digest('hex')).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'))
    // The worker batches the pipe's reads: far fewer chunks than reads.
    expect(chunks.length).toBeLessThan(OUTPUT_BYTES / PIPE_READ / 10)
  })

  it('a worker SIGKILLed mid-task: a second worker finishes its tasks after the lease, each exactly once', async () => {
    const f = await farm(url())
    const runs = join(f.dir, 'runs.txt')
    // A Worker of its own (not `aque worker`) to give the child processes of isolated tasks the task module.
    const options = { imports: [TASKS], leaseMs: 1500, concurrency: 4 }
    const first = await f.fixtureWorker(options)
    // Two run in the worker's process, two in child processes, which must not outlive it.
    const futures = await f.queue.submitMany([0, 1, 2, 3].map((n) => ({ func: farmNote, args: [runs, n, 1500], ...(n % 2 ? { isolation: 'process' as const } : {}) })))
    await until('the first worker runs all four', () => countRuns(runs, 'start').size === 4)
    first.kill('SIGKILL')
    await exited(first)
    const second = await f.fixtureWorker(options)
    expect(await Promise.all(futures.map((x) => x.result({ timeout: 20_000 })))).toEqual([0, 2, 4, 6])
    const starts = countRuns(runs, 'start')
    const ends = countRuns(runs, 'end')
    for (const x of futures) {
      expect(starts.get(x.id)).toBe(2)
      expect(ends.get(x.id)).toBe(1)
    }
    // The run that ended is the second attempt, by the second worker.
    const lines = readFileSync(runs, 'utf8').trim().split('\n')
    for (const line of lines.filter((l) => l.startsWith('end'))) expect(line.split(' ')[2]).toBe('2')
    // Isolated tasks ran in other processes than the workers'.
    const workers = [String(first.pid), String(second.pid)]
    for (const [i, x] of futures.entries()) {
      const pids = lines.filter((l) => l.split(' ')[1] === String(x.id)).map((l) => l.split(' ')[3])
      for (const pid of pids) expect(workers.includes(pid as string)).toBe(i % 2 === 0)
    }
    const records = await f.broker.fetch(
      futures.map((x) => x.id),
      ['status', 'attempt'],
    )
    for (const x of futures) expect(records.get(x.id)).toMatchObject({ status: 'success', attempt: 2 })
  })

  it("a worker SIGKILLed mid shell task: the tasks' processes die with it, and each task completes once elsewhere", async () => {
    const f = await farm(url())
    const runs = join(f.dir, 'runs.txt')
    const args = ['-c', '2', '--lease-ms', '1500']
    const first = await f.worker(args)
    const script = `echo "start $AQUE_TID $$" >> ${runs}; sleep 2; echo "end $AQUE_TID $$" >> ${runs}`
    const futures = await f.queue.submitMany([0, 1].map(() => ({ pattern: 'shell', args: ['bash', '-c', script] })))
    await until('the first worker runs both', () => countRuns(runs, 'start').size === 2)
    const groups = readFileSync(runs, 'utf8')
      .trim()
      .split('\n')
      .map((line) => Number(line.split(' ')[2]))
    first.kill('SIGKILL')
    await exited(first)
    // Nothing of the dead worker's tasks runs on (its shell commands would otherwise finish too).
    await until("the dead worker's task processes to end", () => groups.every((g) => groupMembers(g).length === 0))
    await f.worker(args)
    expect(await Promise.all(futures.map((x) => x.result({ timeout: 20_000 })))).toEqual([0, 0])
    const starts = countRuns(runs, 'start')
    const ends = countRuns(runs, 'end')
    for (const x of futures) {
      expect(starts.get(x.id)).toBe(2)
      expect(ends.get(x.id)).toBe(1)
    }
  })

  it('SIGHUP restarts aque worker with tasks queued and running: every task runs exactly once', async () => {
    const f = await farm(url())
    const runs = join(f.dir, 'runs.txt')
    const worker = await f.worker(['--import', TASKS, '--concurrency', '2'])
    const futures = await f.queue.submitMany(Array.from({ length: 12 }, (_, n) => ({ func: farmNote, args: [runs, n, 250] })))
    const done = () => [...countRuns(runs, 'end').values()].reduce((a, b) => a + b, 0)
    await until('two tasks run', () => countRuns(runs, 'start').size >= 2)
    worker.kill('SIGHUP')
    await until('some tasks after the first restart', () => done() >= 6)
    worker.kill('SIGHUP')
    expect(await Promise.all(futures.map((x) => x.result({ timeout: 20_000 })))).toEqual(futures.map((_, n) => n * 2))
    const starts = countRuns(runs, 'start')
    const ends = countRuns(runs, 'end')
    for (const x of futures) {
      expect(starts.get(x.id)).toBe(1)
      expect(ends.get(x.id)).toBe(1)
    }
    // Restarted in place, twice: same process.
    expect(worker.output().match(/SIGHUP: finishing running tasks, then restarting/g)?.length).toBe(2)
    expect(worker.exitCode).toBe(null)
    worker.kill('SIGTERM')
    expect(await exited(worker)).toBe(0)
  })
})
