/**
 * Preemption in real processes on Redis and PostgreSQL: `aque worker -c 2 --preempt` runs two
 * low-priority shell tasks of 1 CPU; an urgent task of 2 CPUs arrives; the low ones are
 * stopped (SIGSTOP: state T in /proc, status `suspended`), the urgent one runs, then they are
 * continued and finish. Nothing runs twice, nothing is lost, no process is left behind.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BROKERS, Farm, countRuns, procState, until } from './fixtures/farm-harness.js'

const farms: Farm[] = []
afterEach(async () => {
  for (const farm of farms.splice(0)) await farm.close()
})

const shell = (script: string, extra: Record<string, unknown> = {}) => ({ pattern: 'shell', args: ['bash', '-c', script], ...extra })

describe.each(BROKERS)('preempting worker on $name', ({ url }) => {
  it('suspends two low-priority shell tasks for an urgent one that needs both CPUs, then resumes them', { timeout: 60_000 }, async () => {
    const f = await Farm.open(url())
    farms.push(f)
    await f.worker(['-c', '2', '--preempt'])
    const runs = join(f.dir, 'runs.txt')
    const pids = join(f.dir, 'pids.txt')
    const seen = join(f.dir, 'seen.txt')
    const urgentDone = join(f.dir, 'urgent-done')
    // Steps of 50 ms until the urgent task has run (at most 20 s), then 10 more: the low tasks
    // are still running whenever the urgent one is claimed.
    const lowScript = `echo "start $AQUE_TID" >> ${runs}; echo $$ >> ${pids}; i=0; while [ $i -lt 400 ] && [ ! -e ${urgentDone} ]; do i=$((i+1)); echo $i; sleep 0.05; done; for j in $(seq 10); do i=$((i+1)); echo $i; sleep 0.05; done; echo "end $AQUE_TID" >> ${runs}`
    const low = await f.queue.submitMany([0, 1].map(() => shell(lowScript, { cpus: 1, priority: 1 })))
    await until('both low tasks to run', async () => {
      const text = (() => {
        try {
          return readFileSync(pids, 'utf8')
        } catch {
          return ''
        }
      })()
      return text.trim().split('\n').filter(Boolean).length === 2
    })
    const lowPids = readFileSync(pids, 'utf8').trim().split('\n').map(Number)
    // The urgent task records the state of the low tasks' processes while it runs. SIGSTOP
    // takes effect when the stopped process is next scheduled, so on a busy machine a low
    // task can still show R (woken to take the signal) for a moment after the urgent one
    // starts: it looks again for up to 2 s until both are stopped. Left running, a low task
    // is S or R all along, never T, and the check below fails.
    const states = `for p in ${lowPids.join(' ')}; do cut -d' ' -f3 /proc/$p/stat; done`
    const urgentScript = `echo "start $AQUE_TID" >> ${runs}; for k in $(seq 40); do [ "$(${states} | sort -u)" = T ] && break; sleep 0.05; done; ${states} > ${seen}; sleep 0.5; echo "end $AQUE_TID" >> ${runs}; touch ${urgentDone}`
    const submitted = Date.now()
    const urgent = await f.queue.submitEx(shell(urgentScript, { cpus: 2, priority: 10 }))

    await until('the low tasks to be suspended and stopped', async () => {
      const tasks = await f.broker.fetch(
        low.map((x) => x.id),
        ['status'],
      )
      return low.every((x) => tasks.get(x.id)?.status === 'suspended') && lowPids.every((pid) => procState(pid) === 'T')
    })
    // Woken by the new_work event, not found by the 5 s safety poll.
    expect(Date.now() - submitted).toBeLessThan(4000)
    expect(await urgent.result({ timeout: 20_000 })).toBe(0)
    expect(readFileSync(seen, 'utf8').trim().split('\n')).toEqual(['T', 'T'])
    for (const x of low) expect(await x.result({ timeout: 30_000 })).toBe(0)

    // Each ran once and whole, under its first claim.
    const starts = countRuns(runs, 'start')
    const ends = countRuns(runs, 'end')
    for (const x of [...low, urgent]) {
      expect(starts.get(x.id)).toBe(1)
      expect(ends.get(x.id)).toBe(1)
    }
    const tasks = await f.broker.fetch(
      [...low, urgent].map((x) => x.id),
      ['status', 'attempt', 'startedAt', 'finishedAt'],
    )
    for (const x of [...low, urgent]) expect(tasks.get(x.id)).toMatchObject({ status: 'success', attempt: 1 })
    for (const x of low) {
      const out = Buffer.concat((await f.broker.getOutput([x.id])).filter((c) => c.stream === 'stdout').map((c) => c.data)).toString()
      const lines = out.trim().split('\n')
      expect(lines).toEqual(Array.from({ length: lines.length }, (_, i) => String(i + 1)))
      expect(lines.length).toBeGreaterThan(10)
      // The low tasks ended after the urgent one: they were paused while it ran.
      expect(tasks.get(x.id)?.finishedAt ?? 0).toBeGreaterThanOrEqual(tasks.get(urgent.id)?.finishedAt ?? Number.POSITIVE_INFINITY)
    }
    // The order in the runs file: both low starts, the urgent start and end, then the low ends.
    const order = readFileSync(runs, 'utf8').trim().split('\n')
    expect(order.slice(2, 4)).toEqual([`start ${urgent.id}`, `end ${urgent.id}`])
  })
})
