/**
 * The spawner: a small Node process that starts shell tasks' commands for a worker (see
 * spawner.ts for why). It reads frames (spawn-protocol.ts) on stdin and answers on stdout.
 * When stdin closes (the worker is gone, however it ended) it kills the process groups of the
 * commands still running and exits: no task outlives its worker. Each group is also listed
 * with a group guard (group-guard.ts) of this process as soon as it exists, which kills the
 * groups if this process dies without a chance to (SIGKILL, the OOM killer), with or without
 * the worker. Besides Node's modules it imports only two small ones of this package: the
 * smaller its heap, the cheaper each fork.
 */
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { guardGroup, releaseGroup } from './group-guard.js'
import { FRAME, FrameReader, type SpawnExit, decodeSpawn, encodeFrame } from './spawn-protocol.js'

process.title = 'aque-spawner'

/** How long the worker may wait for a command's pid, ms (see `start`). */
const PID_DELAY_MS = 5

const running = new Map<number, ChildProcess>()
/** A plain copy: spreading process.env itself (an accessor object) costs ~25 µs a spawn. */
let baseEnv: NodeJS.ProcessEnv = { ...process.env }
const out = process.stdout
/** Output is paused while the worker's side of the pipe is full. */
let blocked = false

function send(type: number, ref: number, payload?: Uint8Array): void {
  write(encodeFrame(type, ref, payload))
}

/**
 * Writes frames to the worker, pausing the commands' output while its side of the pipe is full.
 * (Node makes a stdout pipe blocking on Linux: there a full pipe blocks the write instead.)
 */
function write(frames: Buffer): void {
  if (!out.write(frames) && !blocked) {
    blocked = true
    for (const child of running.values()) {
      child.stdout?.pause()
      child.stderr?.pause()
    }
    out.once('drain', () => {
      blocked = false
      for (const child of running.values()) {
        child.stdout?.resume()
        child.stderr?.resume()
      }
    })
  }
}

function sendExit(ref: number, exit: SpawnExit): void {
  send(FRAME.exit, ref, Buffer.from(JSON.stringify(exit)))
}

function start(ref: number, payload: Buffer): void {
  const { request, stdin } = decodeSpawn(payload)
  let stdinFd: number | null = null
  if (request.stdin === 'file') {
    try {
      stdinFd = openSync(request.stdinPath as string, 'r')
    } catch (err) {
      sendExit(ref, { code: null, signal: null, error: `cannot read stdinPath: ${(err as Error).message}` })
      return
    }
  }
  const stdio: StdioOptions = [stdinFd ?? (request.stdin === 'bytes' ? 'pipe' : 'ignore'), 'pipe', 'pipe']
  let child: ChildProcess
  try {
    child = spawn(request.file, request.args, {
      cwd: request.cwd,
      env: { ...baseEnv, ...request.env },
      // Its own session and process group: a signal to the group reaches its children.
      detached: true,
      stdio,
      uid: request.uid,
      gid: request.gid,
    })
  } catch (err) {
    // Invalid arguments (e.g. a NUL byte) throw instead of emitting 'error'.
    sendExit(ref, { code: null, signal: null, error: (err as Error).message })
    return
  } finally {
    if (stdinFd !== null) closeSync(stdinFd)
  }
  const pid = child.pid
  let failure: string | null = null
  child.on('error', (err) => {
    failure = err.message
  })
  if (pid === undefined) {
    // Not started (ENOENT, EACCES…): 'error' and 'close' follow.
    child.on('close', () => sendExit(ref, { code: null, signal: null, error: failure ?? 'the command could not start' }))
    return
  }
  guardGroup(pid)
  running.set(ref, child)
  // The pid goes to the worker a little later, or with the first output, or in the same write
  // as the exit: a command that ends within PID_DELAY_MS costs the worker one wake-up, not two.
  // The group is guarded already; a kill the worker got meanwhile is sent once it has the pid.
  let pidFrame: Buffer | null = Buffer.allocUnsafe(4)
  pidFrame.writeUInt32LE(pid, 0)
  pidFrame = encodeFrame(FRAME.pid, ref, pidFrame)
  const sendPid = () => {
    if (pidFrame === null) return
    clearTimeout(timer)
    write(pidFrame)
    pidFrame = null
  }
  const timer = setTimeout(sendPid, PID_DELAY_MS)
  if (request.stdin === 'bytes') {
    child.stdin?.on('error', () => {}) // a command that does not read its input
    child.stdin?.end(stdin)
  }
  child.stdout?.on('data', (chunk: Buffer) => {
    sendPid()
    send(FRAME.stdout, ref, chunk)
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    sendPid()
    send(FRAME.stderr, ref, chunk)
  })
  if (blocked) {
    child.stdout?.pause()
    child.stderr?.pause()
  }
  // 'close': the process has exited and its output pipes are drained, so every output frame
  // goes before the exit frame.
  child.on('close', (code, signal) => {
    running.delete(ref)
    releaseGroup(pid)
    const exit = encodeFrame(FRAME.exit, ref, Buffer.from(JSON.stringify({ code, signal, error: null } satisfies SpawnExit)))
    if (pidFrame === null) write(exit)
    else {
      clearTimeout(timer)
      write(Buffer.concat([pidFrame, exit]))
      pidFrame = null
    }
  })
}

/** The worker is gone: so are its tasks. */
function shutdown(): void {
  for (const child of running.values()) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
  process.exit(0)
}

const reader = new FrameReader((type, ref, payload) => {
  if (type === FRAME.spawn) start(ref, payload)
  else if (type === FRAME.env) baseEnv = JSON.parse(payload.toString('utf8')) as NodeJS.ProcessEnv
})
process.stdin.on('data', (chunk: Buffer) => reader.push(chunk))
process.stdin.on('end', shutdown)
process.stdin.on('error', shutdown)
out.on('error', shutdown)
