/**
 * `aque status` end to end: the table with dependencies nested to --depth, --flat, --json,
 * --format, --filter and -x; and `status --watch`, the live view, driven in a real terminal
 * (tmux) to see it redraw and quit on q and on Ctrl-C.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { BIN, BROKERS, CliSandbox, until } from './fixtures/cli-harness.js'

const sandboxes: CliSandbox[] = []
const sessions: string[] = []
afterEach(async () => {
  for (const name of sessions.splice(0)) {
    try {
      execFileSync('tmux', ['kill-session', '-t', name], { stdio: 'ignore' })
    } catch {
      // Already gone: it quit as it should.
    }
  }
  for (const s of sandboxes.splice(0)) await s.cleanup()
})

async function sandbox(url: string): Promise<CliSandbox> {
  const s = new CliSandbox(url)
  sandboxes.push(s)
  await (await s.broker()).init()
  return s
}

const ids = (out: string) => out.trim().split('\n').map(Number)

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' })
}

function sessionAlive(name: string): boolean {
  try {
    execFileSync('tmux', ['has-session', '-t', name], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

describe.each(BROKERS)('aque status on $name', ({ url }) => {
  it('nests dependencies under their dependents to --depth; --flat, --json, --format, --filter', async () => {
    const s = await sandbox(url())
    const [a] = ids(await s.ok(['submit', '-n', 'leaf', 'true']))
    const [b] = ids(await s.ok(['submit', '-n', 'middle', '--dep', String(a), 'true']))
    const [c] = ids(await s.ok(['submit', '-n', 'top', '-p', '2000', '--dep', String(b), 'true']))
    const table = await s.ok(['status'])
    expect(table.split('\n')[0]).toMatch(/^\s*ID\s+STATE\s+PROGRESS\s+ELAPSED\s+COMMAND$/)
    expect(table).toMatch(new RegExp(`^\\s*${c}\\s+pending\\s+top\\n\\s*${b}\\s+pending\\s+└─ middle\\n\\s*${a}\\s+pending\\s+   └─ leaf\\n$`, 'm'))
    const shallow = await s.ok(['status', '--depth', '1', String(c)])
    expect(shallow).toContain('└─ middle')
    expect(shallow).not.toContain('leaf')
    expect(await s.ok(['status', '--flat', '--format', '{id} {name}'])).toBe(`${a} leaf\n${b} middle\n${c} top\n`)
    const json = (await s.ok(['status', '--json', String(b)])).trim().split('\n')
    expect(json).toHaveLength(1)
    expect(JSON.parse(json[0] as string)).toMatchObject({ id: b, status: 'pending', name: 'middle', dependencies: [a], command: 'middle' })
    expect(await s.ok(['status', '--format', '{id}', '--filter', 'status == "pending" and priority > 1000'])).toBe(`${c}\n`)
    expect(await s.ok(['status', '--format', '{id}', '--filter', 'name in ["leaf", "top"] and not (id == ' + c + ')'])).toBe(`${a}\n`)
    expect(await s.ok(['status', '-x', '--format', '{id}', '--filter', `user != "${'no-such-user'}"`])).toBe(`${a}\n${b}\n${c}\n`)
    const everybody = await s.ok(['status', '-x'])
    expect(everybody.split('\n')[0]).toMatch(/\bUSER\b/)
  })

  it('--watch redraws, shows counts by state and running tasks with progress and elapsed time, quits on q and Ctrl-C', async () => {
    const s = await sandbox(url())
    const worker = s.spawn(['worker'])
    const [id] = ids(await s.ok(['submit', '--shell', 'aque progress 3/8 rendering; sleep 30']))
    await until('the task reports progress', async () => (await (await s.broker()).fetch([id as number], ['progress'])).get(id as number)?.progress?.done === 3, 15_000)
    for (const quit of ['q', 'C-c']) {
      const name = `aque-watch-${randomBytes(4).toString('hex')}`
      sessions.push(name)
      const env = s.env()
      tmux('new-session', '-d', '-s', name, '-x', '150', '-y', '30', '-c', s.dir, '-e', `AQUE_BROKER=${s.url}`, '-e', `PATH=${env.PATH}`, `${process.execPath} ${BIN} status --watch`)
      let first = ''
      await until('the live view shows the running task', () => {
        first = tmux('capture-pane', '-p', '-t', name)
        return new RegExp(`^\\s*${id}\\s+running\\s+3/8 37% rendering\\s+\\d`, 'm').test(first)
      })
      expect(first).toMatch(/pending \d+\s+running 1\s+suspended 0\s+success 0\s+error 0\s+killed 0/)
      const elapsed = (screen: string) => /running\s+3\/8 37% rendering\s+(\S+)/.exec(screen)?.[1]
      await until('it redraws with a later elapsed time', () => {
        const now = tmux('capture-pane', '-p', '-t', name)
        return elapsed(now) !== undefined && elapsed(now) !== elapsed(first)
      })
      const [other] = ids(await s.ok(['submit', '--host', 'no-such-host', 'true']))
      await until('it redraws when a task is submitted', () => new RegExp(`^\\s*${other}\\s+pending`, 'm').test(tmux('capture-pane', '-p', '-t', name)))
      tmux('send-keys', '-t', name, quit)
      await until(`the view quits on ${quit}`, () => !sessionAlive(name))
    }
    worker.kill('SIGTERM')
  })

  it('xargs --watch draws a progress bar on a terminal', async () => {
    const s = await sandbox(url())
    const worker = s.spawn(['worker', '-c', '1'])
    const name = `aque-bar-${randomBytes(4).toString('hex')}`
    sessions.push(name)
    const env = s.env()
    const command = `printf '0.6 0.6 0.6 0.6' | ${process.execPath} ${BIN} xargs -n1 --watch sleep; echo "exit=$?"; sleep 30`
    tmux('new-session', '-d', '-s', name, '-x', '100', '-y', '10', '-c', s.dir, '-e', `AQUE_BROKER=${s.url}`, '-e', `PATH=${env.PATH}`, command)
    await until('a partly filled bar', () => /^\[#+\.+\] [1-3]\/4 tasks/m.test(tmux('capture-pane', '-p', '-t', name)))
    await until('a full bar, then the exit status', () => /^\[#+\] 4\/4 tasks .*\nexit=0$/m.test(tmux('capture-pane', '-p', '-t', name)))
    worker.kill('SIGTERM')
  })
})
