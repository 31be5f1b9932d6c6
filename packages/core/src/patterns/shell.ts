import { createWriteStream } from 'node:fs'
import { CommandError } from '../errors/classes.js'
import type { Pattern } from './pattern.js'
import { inheritedEnviron, runAs, stdinBytes } from './shell-inputs.js'
import { spawnCommand } from './spawner.js'

/** How long the processes of a killed task may take to end on its signal before they get SIGKILL, ms. */
const KILL_AFTER_MS = 3000

/**
 * Runs `args` as a command (program first) in its own process group, so that a signal reaches
 * its children too. stdout and stderr become output chunks (and files, with `stdoutPath` /
 * `stderrPath`). Exit code 0 is success (result 0); any other code, or a signal, is a
 * CommandError carrying it. The command is started by a spawner process (spawner.ts), which
 * also lists its group with the group guard.
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
    const files = [t.stdoutPath ? createWriteStream(t.stdoutPath) : null, t.stderrPath ? createWriteStream(t.stderrPath) : null]
    let pid: number | null = null
    // A killed task's group gets SIGKILL if it is still there a little later: a process that
    // ignores SIGTERM would otherwise run on, forgotten by the worker that already moved on.
    const escalate = () => {
      setTimeout(() => {
        try {
          if (pid !== null) process.kill(-pid, 'SIGKILL')
        } catch {
          // The group is gone.
        }
      }, KILL_AFTER_MS).unref()
    }
    const exit = await spawnCommand(
      {
        file: program as string,
        args: rest,
        // This process's cwd now (a spawner keeps the one it started with).
        cwd: t.cwd ?? process.cwd(),
        env,
        ...runAs(t),
        ...(stdin !== undefined ? { input: typeof stdin === 'string' ? Buffer.from(stdin) : stdin } : t.stdinPath ? { inputPath: t.stdinPath } : {}),
      },
      {
        onPid(started) {
          pid = started
          ctx.setProcess(started)
          if (!ctx.signal.aborted) {
            ctx.signal.addEventListener('abort', escalate, { once: true })
            return
          }
          // Killed while it was starting: the worker had no group to signal yet.
          try {
            process.kill(-started, (ctx.signal.reason as NodeJS.Signals | undefined) ?? 'SIGTERM')
          } catch {
            // Ended already.
          }
          escalate()
        },
        onOutput(stream, chunk) {
          ctx.write(stream, chunk)
          files[stream === 'stdout' ? 0 : 1]?.write(chunk)
        },
      },
    )
    if (pid !== null) ctx.signal.removeEventListener('abort', escalate)
    await Promise.all(files.map((f) => (f ? new Promise((resolve) => f.end(resolve)) : null)))
    if (exit.code === 0 && !exit.signal) return 0
    const err = new CommandError(
      exit.signal
        ? `${program} was ended by ${exit.signal}`
        : exit.error !== null
          ? `${program} could not start: ${exit.error}`
          : `${program} exited with code ${exit.code}`,
    )
    err.exitCode = exit.code
    err.signal = exit.signal
    throw err
  },
}
