import { type ChildProcess, spawn } from 'node:child_process'

/**
 * A shell task runs in its own process group, so that a kill reaches its children. That also
 * lets it outlive a worker that dies without running any handler (SIGKILL, the OOM killer):
 * the task then runs twice at once, its orphan and the run another worker starts after the
 * lease. The guard is one small `sh` per process that starts commands (each spawner of a
 * worker, see spawner-helper.ts), started with its first command, that reads "+ <pgid>" and
 * "- <pgid>" lines from a pipe; when the pipe closes (that process is gone, however it ended)
 * it kills the groups still listed. POSIX sh only, no command per line: a busy worker starts
 * thousands of tasks.
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

/** Forgotten groups waiting for the next write: one write per turn of the event loop for those. */
let pending = ''

/** A group to guard is written at once: the worker may die the next instant. */
function sendNow(line: string): void {
  if (guard === undefined) guard = start()
  guard?.stdin?.write(line)
}

/** A group to forget can wait for the turn's other lines (a late one costs nothing). */
function sendLater(line: string): void {
  if (!guard) return
  if (pending === '') {
    setImmediate(() => {
      const text = pending
      pending = ''
      guard?.stdin?.write(text)
    })
  }
  pending += line
}

/** Lists a task's process group: it is killed if this process dies while it runs. */
export function guardGroup(pgid: number): void {
  sendNow(`+ ${pgid}\n`)
}

/** The group has ended: forget it (its id may be reused by another process). */
export function releaseGroup(pgid: number): void {
  sendLater(`- ${pgid}\n`)
}
