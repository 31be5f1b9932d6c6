/**
 * The scenarios of the `aque` command line, end to end: the built binary runs as a
 * subprocess against Redis and against PostgreSQL, with `aque worker` in another process.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
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
  await s.ok(['init'])
  return s
}

interface JsonTask {
  id: number
  status: string
  parent: number | null
  environ: Record<string, string> | null
  cpus: number | null
  dependencies: number[]
  progress: { done: number; total: number | null; message: string | null } | null
  error: { name: string; message: string } | null
}

async function tasks(s: CliSandbox, ...ids: number[]): Promise<JsonTask[]> {
  const out = await s.ok(['status', '--json', ...ids.map(String)])
  return out
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JsonTask)
}

async function statusOf(s: CliSandbox, id: number): Promise<string> {
  return (await s.ok(['status', '--format', '{status}', String(id)])).trim()
}

describe.each(BROKERS)('aque on $name', ({ url }) => {
  it('submit prints an id; status shows it pending, then success after a worker ran it; --csv', async () => {
    const s = await sandbox(url())
    const id = Number((await s.ok(['submit', 'echo', 'hello'])).trim())
    expect(id).toBeGreaterThan(0)
    const listing = await s.ok(['status'])
    expect(listing).toMatch(new RegExp(`^\\s*${id}\\s+pending\\s+echo hello$`, 'm'))
    expect(await exited(s.spawn(['worker', '-1']))).toBe(0)
    expect(await s.ok(['status', String(id)])).toMatch(new RegExp(`^\\s*${id}\\s+success\\b`, 'm'))
    expect(await s.ok(['status', '--csv', 'id,status', String(id)])).toBe(`id,status\n${id},success\n`)
    expect(await s.ok(['output', String(id)])).toBe('hello\n')
  })

  it('output -w follows a task until it completes; submit --watch does both', async () => {
    const s = await sandbox(url())
    s.spawn(['worker'])
    const id = Number((await s.ok(['submit', '--shell', 'echo hello from $AQUE_TID'])).trim())
    expect(await s.ok(['output', '-w', String(id)])).toBe(`hello from ${id}\n`)
    const watched = await s.ok(['submit', '--watch', '--shell', 'echo hello from $AQUE_TID; sleep 0.3; echo bye'])
    const [first, ...rest] = watched.split('\n')
    expect(rest.join('\n')).toBe(`hello from ${first}\nbye\n`)
  })

  it('xargs submits one task per word under one group that holds the environment once', async () => {
    const s = await sandbox(url())
    const input = Array.from({ length: 20 }, (_, i) => i + 1).join('\n')
    const out = await s.ok(['xargs', '-n1', 'bash', '-c', 'echo $AQUE_TID says $1 $GREETING >> result.txt', 'procname'], { input, env: { GREETING: 'hi' } })
    const group = Number(out.trim())
    expect(out).toBe(`${group}\n`)
    expect(await exited(s.spawn(['worker', '-2']))).toBe(0)
    const lines = readFileSync(join(s.dir, 'result.txt'), 'utf8').trim().split('\n').sort((a, b) => Number(a.split(' ')[2]) - Number(b.split(' ')[2]))
    expect(lines).toHaveLength(20)
    const all = await tasks(s)
    const members = all.filter((t) => t.parent === group)
    expect(members.map((t) => t.status)).toEqual(Array(20).fill('success'))
    expect(lines).toEqual(members.map((t, i) => `${t.id} says ${i + 1} hi`))
    expect(all.find((t) => t.id === group)?.environ?.GREETING).toBe('hi')
    expect(members.every((t) => t.environ === null)).toBe(true)
    // A group stands for its tasks: wait reports each (plain lines when piped), output prints theirs.
    const waited = await s.run(['wait', String(group)])
    expect(waited.code).toBe(0)
    expect(waited.stderr.trim().split('\n')).toHaveLength(20)
    expect(waited.stderr).toMatch(/^20\/20 tasks complete: task \d+ success$/m)
    const tree = await s.ok(['status', String(group)])
    expect(tree.trim().split('\n')).toHaveLength(22)
    expect(tree).toMatch(new RegExp(`^\\s*${group}\\s+success\\s+20/20 done\\s+xargs bash -c`, 'm'))
    expect(tree).toMatch(new RegExp(`^\\s*${members[19]?.id}\\s+success\\s+\\S+\\s+└─ bash -c`, 'm'))
  })

  it('xargs splits like xargs (-n1: 4, -L1: 2, none: 1), -v prints every id, -P reserves 1/N of the CPUs', async () => {
    const s = await sandbox(url())
    const count = async (args: string[]) => {
      const out = (await s.ok(['xargs', '-v', ...args, 'echo'], { input: '1 2\n3 4\n' })).trim().split('\n').map(Number)
      const group = out[out.length - 1] as number
      const members = (await tasks(s)).filter((t) => t.parent === group)
      expect(members.map((t) => t.id)).toEqual(out.slice(0, -1))
      return members
    }
    expect(await count(['-n1'])).toHaveLength(4)
    expect(await count(['-L1'])).toHaveLength(2)
    expect(await count([])).toHaveLength(1)
    const reserved = await count(['-n2', '-P', '4'])
    expect(reserved.map((t) => t.cpus)).toEqual([-4, -4])
  })

  it('kill marks a running task killed and stops its command; -s INT sends SIGINT; -r kills its dependencies', async () => {
    const s = await sandbox(url())
    s.spawn(['worker'])
    const id = Number((await s.ok(['submit', '--shell', 'echo before; sleep 10; echo after'])).trim())
    await until('the task prints "before"', async () => (await s.stdout(id)).includes('before'))
    await s.ok(['kill', String(id)])
    await until('the task is killed', async () => (await s.status(id)) === 'killed')
    const output = await s.ok(['output', String(id)])
    expect(output).toContain('before')
    expect(output).not.toContain('after')

    const int = Number((await s.ok(['submit', '--shell', 'trap "echo got INT; exit 130" INT; echo ready; sleep 10 & wait'])).trim())
    await until('the task is ready', async () => (await s.stdout(int)).includes('ready'))
    await s.ok(['kill', '-s', 'INT', String(int)])
    await until('the task is killed', async () => (await s.status(int)) === 'killed')
    expect((await tasks(s, int))[0]?.error?.message).toContain('SIGINT')

    const dep = Number((await s.ok(['submit', '--host', 'no-such-host', 'sleep', '10'])).trim())
    const top = Number((await s.ok(['submit', '--dep', String(dep), 'echo', 'never'])).trim())
    await s.ok(['kill', '-r', String(top)])
    expect(await statusOf(s, top)).toBe('killed')
    expect(await statusOf(s, dep)).toBe('killed')

    // A group stands for its tasks.
    const group = Number((await s.ok(['xargs', '-n1', '--host', 'no-such-host', 'sleep'], { input: '10 11' })).trim())
    await s.ok(['kill', String(group)])
    expect((await tasks(s)).filter((t) => t.parent === group).map((t) => t.status)).toEqual(['killed', 'killed'])
  })

  it('retry re-runs a failed task under the same id; -s also re-runs a success', async () => {
    const s = await sandbox(url())
    const bad = Number((await s.ok(['submit', '--shell', 'test -e flag || { touch flag; exit 1; }'])).trim())
    const good = Number((await s.ok(['submit', 'true'])).trim())
    expect(await exited(s.spawn(['worker', '-2']))).toBe(0)
    expect(await statusOf(s, bad)).toBe('error')
    await s.ok(['retry', String(bad)])
    expect(await statusOf(s, bad)).toBe('pending')
    const refused = await s.run(['retry', String(good)])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^aque: .*-s/)
    await s.ok(['retry', '-s', String(good)])
    expect(await statusOf(s, good)).toBe('pending')
    expect(await exited(s.spawn(['worker', '-2']))).toBe(0)
    expect(await statusOf(s, bad)).toBe('success')
    expect(await statusOf(s, good)).toBe('success')
  })

  it('rm -c removes completed tasks, rm -a -x everything, and says how many', async () => {
    const s = await sandbox(url())
    await s.ok(['submit', 'true'])
    await s.ok(['submit', 'false'])
    expect(await exited(s.spawn(['worker', '-2']))).toBe(0)
    await s.ok(['submit', '--host', 'no-such-host', 'true'])
    expect(await s.ok(['rm', '-c'])).toBe('removed 2 tasks\n')
    expect((await tasks(s)).map((t) => t.status)).toEqual(['pending'])
    expect(await s.ok(['rm', '-a', '-x'])).toBe('removed 1 task\n')
    expect(await tasks(s)).toEqual([])
  })

  it('pipes one task into another: --pipe-from and wait --results', async () => {
    const s = await sandbox(url())
    s.spawn(['worker'])
    const script = 'a=$(aque submit echo hello); b=$(aque submit --pipe-from $a md5sum); aque wait --results $b'
    const out = execFileSync('/bin/sh', ['-c', script], { cwd: s.dir, env: s.env(), timeout: 20_000 }).toString()
    expect(out).toBe('b1946ac92492d2347c6235b4d2611184  -\n')
  })

  it('worker -1 runs one task; worker -2 runs until nothing it can run is left', async () => {
    const s = await sandbox(url())
    const a = Number((await s.ok(['submit', 'true'])).trim())
    const b = Number((await s.ok(['submit', 'true'])).trim())
    const c = Number((await s.ok(['submit', '--host', 'no-such-host', 'true'])).trim())
    expect(await exited(s.spawn(['worker', '-1']))).toBe(0)
    expect([await statusOf(s, a), await statusOf(s, b)]).toEqual(['success', 'pending'])
    expect(await exited(s.spawn(['worker', '-2']))).toBe(0)
    expect([await statusOf(s, b), await statusOf(s, c)]).toEqual(['success', 'pending'])
  })

  it('progress and log report from inside a shell task', async () => {
    const s = await sandbox(url())
    const id = Number((await s.ok(['submit', '--shell', 'aque progress 3/10 frames done && aque log all good'])).trim())
    expect(await exited(s.spawn(['worker', '-2']))).toBe(0)
    const [task] = await tasks(s, id)
    expect(task?.status).toBe('success')
    expect(task?.progress).toMatchObject({ done: 3, total: 10, message: 'frames done' })
    expect(await s.ok(['status', String(id)])).toMatch(/3\/10 30% frames done/)
    expect(await s.ok(['output', '-s', 'log', String(id)])).toMatch(/all good/)
  })
})
