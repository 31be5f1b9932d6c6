/**
 * `aque worker` as a process: SIGTERM stops it within the grace period and hands back what
 * it had to kill (no process of a task outlives it); SIGHUP and --reload restart it in place
 * (same pid) after the running task finished, with its modules imported again.
 */
import { execFileSync } from 'node:child_process'
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BROKERS, CliSandbox, exited, until } from './fixtures/cli-harness.js'

const sandboxes: CliSandbox[] = []
afterEach(async () => {
  for (const s of sandboxes.splice(0)) await s.cleanup()
})

async function sandbox(url: string): Promise<CliSandbox> {
  const s = new CliSandbox(url)
  sandboxes.push(s)
  await (await s.broker()).init()
  return s
}

const statusOf = async (s: CliSandbox, id: number) => (await s.ok(['status', '--format', '{status}', String(id)])).trim()

/** Whether a process whose command line contains `marker` runs. */
function processRuns(marker: string): boolean {
  try {
    execFileSync('pgrep', ['-f', marker], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

describe.each(BROKERS)('aque worker on $name', ({ url }) => {
  it('SIGTERM: running tasks may finish for --grace ms, then are killed and handed back', async () => {
    const s = await sandbox(url())
    const marker = `${17 + Math.random()}`.slice(0, 8)
    const long = Number((await s.ok(['submit', '--shell', `echo start; sleep ${marker}; echo end`])).trim())
    const quick = Number((await s.ok(['submit', '--shell', 'sleep 0.5; echo quick'])).trim())
    const worker = s.spawn(['worker', '--grace', '1500'])
    await until('both tasks run', async () => (await s.status(long)) === 'running' && (await s.stdout(long)).includes('start'))
    expect(execFileSync('ps', ['-p', String(worker.pid), '-o', 'args='], { encoding: 'utf8' }).trim()).toBe('aque-worker')
    worker.kill('SIGTERM')
    expect(await exited(worker)).toBe(0)
    expect(worker.output()).toMatch(/SIGTERM: stopping/)
    expect(await statusOf(s, quick)).toBe('success')
    expect(await statusOf(s, long)).toBe('pending')
    expect(processRuns(`sleep ${marker}`)).toBe(false)
    expect(await s.ok(['output', String(long)])).not.toContain('end')
  })

  it('SIGHUP and --reload restart it in place once the running task finished, importing its modules again', async () => {
    const s = await sandbox(url())
    const log = join(s.dir, 'imports.log')
    const mod = join(s.dir, 'tasks.mjs')
    writeFileSync(mod, `import { appendFileSync } from 'node:fs'\nappendFileSync(${JSON.stringify(log)}, 'imported\\n')\n`)
    const imports = () => readFileSync(log, 'utf8').trim().split('\n').length
    const worker = s.spawn(['worker', '--import', './tasks.mjs', '--reload'])
    await until('the module is imported', () => {
      try {
        return imports() === 1
      } catch {
        return false
      }
    })
    const running = Number((await s.ok(['submit', '--shell', 'echo begun; sleep 1; echo finished'])).trim())
    await until('the task runs', async () => (await s.stdout(running)).includes('begun'))
    worker.kill('SIGHUP')
    await until('the worker restarted', () => imports() === 2)
    expect(await statusOf(s, running)).toBe('success')
    expect(await s.ok(['output', String(running)])).toBe('begun\nfinished\n')
    expect(worker.exitCode).toBe(null)
    const after = Number((await s.ok(['submit', 'true'])).trim())
    await until('the restarted worker runs new tasks', async () => (await s.status(after)) === 'success')
    appendFileSync(mod, '// changed\n')
    await until('a change of the module restarts it', () => imports() === 3)
    worker.kill('SIGINT')
    expect(await exited(worker)).toBe(0)
  })
})
