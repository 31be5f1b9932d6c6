import { createWriteStream } from 'node:fs'
import { CommandError } from '../errors/classes.js'
import { guardGroup, releaseGroup } from './group-guard.js'
import type { Pattern } from './pattern.js'
import { inheritedEnviron, runAs, stdinBytes } from './shell-inputs.js'

/** How long the processes of a killed task may take to end on its signal before they get SIGKILL, ms. */
const KILL_AFTER_MS = 3000

/**
 * Runs `args` as a command (program first) in its own process group, so that a signal reaches
 * its children too. stdout and stderr become output chunks (and files, with `stdoutPath` /
 * `stderrPath`). Exit code 0 is success (result 0); any other code, or a signal, is a
 * CommandError carrying it.
 */
export const shellPattern: Pattern = {
  name: 'shell',
  async run(ctx) {
    const [program, ...rest] = ctx.args.map(String)
    const t = ctx.record
    const env: Record<string, string> = {
      ...(await inheritedEnviron(ctx.broker, t)),
      AQUE_TID: String(t.id),
      AQUE_BROKER: ctx.broker.toUrl(),
    }
    const stdin = await stdinBytes(ctx.broker, t)
    // Loaded on first use: most processes that import core never run a shell task.
    const { execa } = await import('execa')
    const child = execa(program as string, rest, {
      cwd: t.cwd ?? undefined,
      env,
      extendEnv: true,
      detached: true,
      reject: false,
      buffer: false,
      stripFinalNewline: false,
      ...runAs(t),
      ...(stdin !== undefined ? { input: stdin } : t.stdinPath ? { inputFile: t.stdinPath } : { stdin: 'ignore' as const }),
    })
    const pid = child.pid
    // A killed task's group gets SIGKILL if it is still there a little later: a process that
    // ignores SIGTERM would otherwise run on, forgotten by the worker that already moved on.
    const escalate = () => {
      setTimeout(() => {
        try {
          if (pid !== undefined) process.kill(-pid, 'SIGKILL')
        } catch {
          // The group is gone.
        }
      }, KILL_AFTER_MS).unref()
    }
    if (pid !== undefined) {
      guardGroup(pid)
      ctx.setProcess(pid)
      if (ctx.signal.aborted) escalate()
      else ctx.signal.addEventListener('abort', escalate, { once: true })
    }
    const files = [t.stdoutPath ? createWriteStream(t.stdoutPath) : null, t.stderrPath ? createWriteStream(t.stderrPath) : null]
    child.stdout?.on('data', (chunk: Buffer) => {
      ctx.write('stdout', chunk)
      files[0]?.write(chunk)
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      ctx.write('stderr', chunk)
      files[1]?.write(chunk)
    })
    const result = await child
    if (pid !== undefined) {
      ctx.signal.removeEventListener('abort', escalate)
      releaseGroup(pid)
    }
    await Promise.all(files.map((f) => (f ? new Promise((resolve) => f.end(resolve)) : null)))
    if (result.exitCode === 0 && !result.signal) return 0
    const err = new CommandError(
      result.signal
        ? `${program} was ended by ${result.signal}`
        : result.exitCode === undefined
          ? `${program} could not start: ${result.message}`
          : `${program} exited with code ${result.exitCode}`,
    )
    err.exitCode = result.exitCode ?? null
    err.signal = result.signal ?? null
    throw err
  },
}
