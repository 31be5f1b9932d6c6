import { type ChildProcess, spawn } from 'node:child_process'
import type { Writable } from 'node:stream'

/**
 * A shell task runs in its own process group, so that a kill reaches its children. That also
 * lets it outlive a worker that dies without running any handler (SIGKILL, the OOM killer):
 * the task then runs twice at once, its orphan and the run another worker starts after the
 * lease. The guard is one small `sh` per process, started with the first shell task, that
 * reads "+ <pgid>" and "- <pgid>" lines from a pipe, written by the spawners that start the
 * commands (spawner.ts); when the pipe closes (this process and its spawners are gone, however
 * they ended) it kills the groups still listed. POSIX sh only, no command per line: a busy
 * worker starts thousands of tasks.
 */
const SCRIPT = `groups=' '
while read -r op g; do
  case "$op" in
    +) groups="$groups$g " ;;
    -) case "$groups" in *" $g "*) groups="\${groups%% $g *} \${groups#* $g }" ;; esac ;;
  esac
done
for g in $groups; do kill -9 "-$g" 2>/dev/null; done
`

/** The guard process; null if it could not start or is gone, undefined before the first use. */
let guard: ChildProcess | null | undefined

function start(): ChildProcess | null {
  try {
    // Its own session: a signal to this process's group (Ctrl-C) must not stop the guard first.
    const child = spawn('sh', ['-c', SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] })
    child.on('error', () => {
      guard = null
    })
    child.stdin?.on('error', () => {
      guard = null
    })
    child.unref()
    return child
  } catch {
    return null // no sh here: tasks are not guarded
  }
}

/**
 * The guard's input pipe, for the processes that list the groups (the spawners, which start
 * the commands: see spawner.ts); null if no guard could be started. Lines are "+ <pgid>" when a
 * group starts and "- <pgid>" when it ended (its id may be reused). The guard sees the end of
 * its input, and kills the groups still listed, once this process and every spawner holding the
 * pipe are gone.
 */
export function guardPipe(): Writable | null {
  if (guard === undefined) guard = start()
  return guard?.stdin ?? null
}
