// The spawner processes that start shell tasks' commands (patterns/spawner.ts): the frame
// protocol, what a command gets and reports, and what happens when a spawner dies. Runs the
// built helper (dist/patterns/spawner-helper.js): `npm run build` first.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FRAME, FrameReader, decodeSpawn, encodeFrame, encodeSpawn } from '../src/patterns/spawn-protocol.js'
import { type SpawnHooks, spawnCommand } from '../src/patterns/spawner.js'

function readlinkOrNull(path: string): string | null {
  try {
    return readlinkSync(path)
  } catch {
    return null
  }
}

function collect() {
  const out: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] }
  let pid: number | null = null
  const hooks: SpawnHooks = {
    onPid: (p) => {
      pid = p
    },
    onOutput: (stream, data) => out[stream].push(data),
  }
  return { hooks, text: (s: 'stdout' | 'stderr') => Buffer.concat(out[s]).toString('latin1'), bytes: (s: 'stdout' | 'stderr') => Buffer.concat(out[s]), pid: () => pid }
}

/** Whether any process of the group is alive (zombies, not reaped yet by init, do not count). */
const alive = (pgid: number) => {
  try {
    return execFileSync('ps', ['-o', 'stat=', '-g', String(pgid)]).toString().split('\n').some((stat) => stat.trim() !== '' && !stat.startsWith('Z'))
  } catch {
    return false // ps exits 1 when nothing matches
  }
}

/** Waits until `check` holds, up to `ms`. */
async function until(check: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) return false
    await new Promise((r) => setTimeout(r, 10))
  }
  return true
}

describe('spawn protocol', () => {
  it('reassembles frames split anywhere across chunks', () => {
    const frames = [
      encodeFrame(FRAME.stdout, 7, Buffer.from('hello')),
      encodeFrame(FRAME.pid, 8),
      encodeFrame(FRAME.spawn, 9, encodeSpawn({ file: 'cat', args: [], env: {}, stdin: 'bytes' }, Buffer.from([0, 255, 10]))),
    ]
    const all = Buffer.concat(frames)
    for (const size of [1, 2, 5, 9, 10, all.length]) {
      const seen: Array<[number, number, Buffer]> = []
      const reader = new FrameReader((type, ref, payload) => seen.push([type, ref, Buffer.from(payload)]))
      for (let i = 0; i < all.length; i += size) reader.push(all.subarray(i, i + size))
      expect(seen.map(([t, r]) => [t, r])).toEqual([
        [FRAME.stdout, 7],
        [FRAME.pid, 8],
        [FRAME.spawn, 9],
      ])
      expect(seen[0]?.[2].toString()).toBe('hello')
      const spawn = decodeSpawn(seen[2]?.[2] as Buffer)
      expect(spawn.request.file).toBe('cat')
      expect([...spawn.stdin]).toEqual([0, 255, 10])
    }
  })
})

describe('spawner', () => {
  // First in this file: the first command starts the spawner, after NODE_OPTIONS is set.
  it("gives commands the worker's environment, NODE_OPTIONS too, but does not run the spawner under NODE_OPTIONS", async () => {
    const saved = process.env.NODE_OPTIONS
    process.env.NODE_OPTIONS = '--no-deprecation'
    try {
      const c = collect()
      const script = 'echo "$NODE_OPTIONS"; tr "\\0" "\\n" < /proc/$PPID/environ | grep -c "^NODE_OPTIONS=" || true'
      expect(await spawnCommand({ file: 'sh', args: ['-c', script], env: {} }, c.hooks)).toMatchObject({ code: 0 })
      expect(c.text('stdout')).toBe('--no-deprecation\n0\n')
    } finally {
      if (saved === undefined) delete process.env.NODE_OPTIONS
      else process.env.NODE_OPTIONS = saved
    }
  })

  it('runs a command in its own session with the given environment, stdin and binary output', async () => {
    const c = collect()
    const input = Buffer.from([0, 1, 2, 200, 255, 10, 13])
    const exit = await spawnCommand(
      { file: 'sh', args: ['-c', 'cat; printf "%s %s" "$SHOT" "$(ps -o sid= -p $$ | tr -d " ")" >&2; printf "\\377\\000"'], env: { SHOT: 'sh010' }, input },
      c.hooks,
    )
    expect(exit).toEqual({ code: 0, signal: null, error: null })
    expect([...c.bytes('stdout')]).toEqual([...input, 255, 0])
    // Its own session: the session id is its own pid.
    expect(c.text('stderr')).toBe(`sh010 ${c.pid()}`)
  })

  it('reads stdin from a file and runs in cwd; reports exit codes, signals and commands that cannot start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aque-spawner-'))
    writeFileSync(join(dir, 'in.txt'), 'from a file')
    const c = collect()
    const exit = await spawnCommand({ file: 'sh', args: ['-c', 'cat; pwd >&2'], cwd: dir, env: {}, inputPath: join(dir, 'in.txt') }, c.hooks)
    expect(exit).toEqual({ code: 0, signal: null, error: null })
    expect(c.text('stdout')).toBe('from a file')
    expect(c.text('stderr')).toBe(`${realpathSync(dir)}\n`)
    expect(await spawnCommand({ file: 'sh', args: ['-c', 'exit 3'], env: {} }, collect().hooks)).toMatchObject({ code: 3, signal: null })
    expect(await spawnCommand({ file: 'sh', args: ['-c', 'kill -USR1 $$'], env: {} }, collect().hooks)).toMatchObject({ code: null, signal: 'SIGUSR1' })
    expect((await spawnCommand({ file: 'no-such-command-here', args: [], env: {} }, collect().hooks)).error).toMatch(/ENOENT/)
    expect((await spawnCommand({ file: 'cat', args: [], env: {}, inputPath: join(dir, 'gone') }, collect().hooks)).error).toMatch(/stdinPath/)
  })

  it.skipIf(process.getuid?.() !== 0)('switches to the given uid and gid (a root worker running a task as its user)', async () => {
    const c = collect()
    expect(await spawnCommand({ file: 'sh', args: ['-c', 'id -u; id -g'], cwd: '/', env: {}, uid: 65534, gid: 65534 }, c.hooks)).toMatchObject({ code: 0 })
    expect(c.text('stdout')).toBe('65534\n65534\n')
  })

  it('lets commands inherit none of its pipes (its input, output and guard pipes)', async () => {
    const c = collect()
    let own = new Set<string | null>()
    // It lingers first, so that it is still there when its pid arrives (a command that ends
    // within a few ms reports its pid with its exit).
    const listFds = 'sleep 0.3; cd /proc/$$/fd && for f in *; do echo "$f $(readlink $f)"; done'
    await spawnCommand({ file: 'sh', args: ['-c', listFds], env: {} }, {
      ...c.hooks,
      onPid(pid) {
        // Its parent is the spawner: read the spawner's descriptors while it runs.
        const spawner = Number(execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)]).toString().trim())
        own = new Set(readdirSync(`/proc/${spawner}/fd`).map((fd) => readlinkOrNull(`/proc/${spawner}/fd/${fd}`)))
      },
    })
    const inherited = c.text('stdout').split('\n').filter(Boolean).map((line) => line.split(' ')) as Array<[string, string]>
    // 0-2 are the command's own; nothing above them is one of the spawner's pipes or sockets
    // (save those the spawner inherited from this test process's own environment).
    const outside = new Set(readdirSync('/proc/self/fd').map((fd) => readlinkOrNull(`/proc/self/fd/${fd}`)))
    const leaked = inherited.filter(([fd, target]) => Number(fd) > 2 && /^(pipe|socket):/.test(target) && own.has(target) && !outside.has(target))
    expect(leaked).toEqual([])
  })

  it('kills the groups it started when a spawner dies, and reports the commands as failed', async () => {
    const c = collect()
    const running = spawnCommand({ file: 'sh', args: ['-c', 'sleep 30 & sleep 30'], env: {} }, c.hooks)
    while (c.pid() === null) await new Promise((r) => setTimeout(r, 5))
    const pgid = c.pid() as number
    expect(alive(pgid)).toBe(true)
    const spawnerPid = Number(execFileSync('ps', ['-o', 'ppid=', '-p', String(pgid)]).toString().trim())
    process.kill(spawnerPid, 'SIGKILL')
    expect((await running).error).toMatch(/spawner ended/)
    expect(await until(() => !alive(pgid))).toBe(true)
    // The next command gets a new spawner.
    expect(await spawnCommand({ file: 'true', args: [], env: {} }, collect().hooks)).toMatchObject({ code: 0 })
  })
})
