import { type ChildProcess, spawn } from 'node:child_process'
import type { Socket } from 'node:net'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FRAME, FrameReader, type SpawnExit, type SpawnRequestJson, type SpawnTarget, encodeFrame, encodeSpawn } from './spawn-protocol.js'

/**
 * Why a spawner: Node starts a child with fork() + exec() and blocks its event loop until the
 * child has exec'd, and fork() copies the page tables of the caller, so a start costs more the
 * bigger the worker's heap (≈ 1.2 ms at 55 MB RSS, 3.6 ms at 173 MB), all of it on the thread
 * that also claims, finishes and streams output. A spawner is a small Node process (no heap to
 * speak of) that does the forks instead, in parallel with the worker; a second one starts when
 * the first is busy starting a command, so two starts overlap their waits for exec.
 */

/** The compiled spawner program (tests that run the sources still start the built one). */
const HELPER = fileURLToPath(new URL('../../dist/patterns/spawner-helper.js', import.meta.url))
/** Most spawners per worker process: starts are short; more would only hold memory. */
const MAX_SPAWNERS = Math.max(1, Math.min(4, availableParallelism()))
/**
 * No V8 background threads: the spawner runs little JavaScript, and fewer threads (stacks,
 * mappings) make each of its forks a little cheaper (~4% less CPU per command, measured).
 */
const SPAWNER_FLAGS = ['--single-threaded']
/** A spawner with nothing to do for this long exits (the next command starts a new one), ms. */
const IDLE_MS = 30_000

/** A command to start. */
export interface SpawnRequest extends SpawnTarget {
  /** Bytes fed to stdin (then closed). */
  input?: Uint8Array
  /** A file stdin reads from, relative to this process's cwd. Without `input` or `inputPath`, stdin is /dev/null. */
  inputPath?: string
}

/** What the caller hears while the command runs. */
export interface SpawnHooks {
  /** The command started; `pid` is also its process group id (own session). */
  onPid(pid: number): void
  /** A chunk of its stdout or stderr, in order (the buffer is the caller's to keep). */
  onOutput(stream: 'stdout' | 'stderr', data: Buffer): void
}

interface Pending {
  hooks: SpawnHooks
  resolve: (exit: SpawnExit) => void
  pid: number | null
}

/** One spawner process and the requests it carries. */
class Spawner {
  readonly process: ChildProcess
  /** Its stdout: a socket, which can be unref'd. */
  private readonly output: Socket
  readonly pending = new Map<number, Pending>()
  /**
   * Requests sent whose pid has not come back: the spawner is starting them, or they are in
   * their first few ms (the spawner sends the pid of a command that ends at once with its exit).
   */
  starting = 0
  /** The environment it was last given (JSON), to send it again only when it changed; '' before the first. */
  envText: string
  private idle: NodeJS.Timeout | null = null

  constructor(private readonly onGone: (spawner: Spawner) => void) {
    // The environment commands get comes in the first request's env frame; the spawner's own
    // has no NODE_OPTIONS (a --require or --inspect meant for the worker's code is not its).
    this.envText = ''
    const { NODE_OPTIONS: _, ...env } = process.env
    this.process = spawn(process.execPath, SPAWNER_FLAGS.concat(HELPER), {
      // Its own session: a Ctrl-C to the worker's group must not end it before the worker
      // has handled the signal (a graceful stop kills and hands back its tasks itself).
      detached: true,
      stdio: ['pipe', 'pipe', 'inherit'],
      env,
    })
    const reader = new FrameReader((type, ref, payload) => this.frame(type, ref, payload))
    this.output = this.process.stdout as Socket
    this.output.on('data', (chunk: Buffer) => reader.push(chunk))
    this.process.stdin?.on('error', () => {}) // the exit below tells the requests
    this.process.on('error', () => this.gone('could not start the process spawner'))
    // 'close', not 'exit': the frames it wrote before it ended are read first.
    this.process.on('close', (code, signal) => this.gone(`the process spawner ended (${signal ?? code})`))
    this.process.unref()
    this.setIdle()
  }

  send(request: SpawnRequest, ref: number, pending: Pending): void {
    // Commands get this process's environment as it is now (~20 µs to read): sent again
    // whenever it changed since this spawner last got it.
    const envText = JSON.stringify(process.env)
    const stdin = this.process.stdin
    if (!stdin) throw new Error('the process spawner has no input pipe')
    if (envText !== this.envText) {
      this.envText = envText
      stdin.write(encodeFrame(FRAME.env, 0, Buffer.from(envText)))
    }
    const json: SpawnRequestJson = {
      file: request.file,
      args: request.args,
      cwd: request.cwd,
      env: request.env,
      uid: request.uid,
      gid: request.gid,
      stdin: request.input !== undefined ? 'bytes' : request.inputPath !== undefined ? 'file' : 'ignore',
      // Resolved here: the spawner's cwd is this process's cwd when it started, not now.
      stdinPath: request.inputPath === undefined ? undefined : resolve(request.inputPath),
    }
    stdin.write(encodeFrame(FRAME.spawn, ref, encodeSpawn(json, request.input)))
    if (this.pending.size === 0) this.busy()
    this.pending.set(ref, pending)
    this.starting++
  }

  private frame(type: number, ref: number, payload: Buffer): void {
    const p = this.pending.get(ref)
    if (!p) return
    if (type === FRAME.stdout || type === FRAME.stderr) {
      // A copy: the payload shares memory with the pipe's chunk.
      p.hooks.onOutput(type === FRAME.stdout ? 'stdout' : 'stderr', Buffer.from(payload))
    } else if (type === FRAME.pid) {
      this.starting--
      p.pid = payload.readUInt32LE(0)
      p.hooks.onPid(p.pid)
    } else if (type === FRAME.exit) {
      if (p.pid === null) this.starting--
      this.pending.delete(ref)
      if (this.pending.size === 0) this.setIdle()
      p.resolve(JSON.parse(payload.toString('utf8')) as SpawnExit)
    }
  }

  /** Holds the worker's event loop open while commands run (the spawner itself never does). */
  private busy(): void {
    if (this.idle) clearTimeout(this.idle)
    this.idle = null
    // Both: if the spawner dies, its 'close' needs the exit too, which an unref'd process
    // handle would not wait for.
    this.process.ref()
    this.output.ref()
  }

  private setIdle(): void {
    this.process.unref()
    this.output.unref()
    this.idle = setTimeout(() => {
      // Out of the list first: no request may be written after the end.
      this.onGone(this)
      this.process.stdin?.end()
    }, IDLE_MS)
    this.idle.unref()
  }

  private gone(why: string): void {
    if (this.idle) clearTimeout(this.idle)
    this.idle = null
    this.onGone(this)
    this.process.unref()
    this.output.unref()
    for (const p of this.pending.values()) {
      // Nobody can tell when these end now: end them, so none runs on unwatched.
      if (p.pid !== null) killGroup(p.pid)
      p.resolve({ code: null, signal: null, error: why })
    }
    this.pending.clear()
    this.starting = 0
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL')
  } catch {
    // Already gone.
  }
}

const spawners: Spawner[] = []
let nextRef = 0

function pick(): Spawner {
  let best: Spawner | undefined
  for (const s of spawners) if (!best || s.starting < best.starting) best = s
  if (best && (best.starting === 0 || spawners.length >= MAX_SPAWNERS)) return best
  const fresh = new Spawner((gone) => {
    const i = spawners.indexOf(gone)
    if (i >= 0) spawners.splice(i, 1)
  })
  spawners.push(fresh)
  return fresh
}

/**
 * Starts a command in its own session through a spawner process and resolves when it has
 * ended and its output was delivered. Never rejects: a command that could not start resolves
 * with `error` set.
 */
export function spawnCommand(request: SpawnRequest, hooks: SpawnHooks): Promise<SpawnExit> {
  return new Promise<SpawnExit>((resolve) => {
    const ref = (nextRef = (nextRef % 0xffff_fffe) + 1)
    try {
      pick().send(request, ref, { hooks, resolve, pid: null })
    } catch (err) {
      resolve({ code: null, signal: null, error: (err as Error).message })
    }
  })
}
