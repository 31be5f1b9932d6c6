/**
 * The pipe protocol between a worker and its spawner processes (spawner.ts ↔ spawner-helper.ts).
 * Binary frames rather than Node's IPC channel: output travels as raw bytes (no base64, no
 * structured clone), and a frame is one buffer write.
 *
 * A frame is a 9-byte header, `length` (u32 LE, of the payload), `type` (u8), `ref` (u32 LE, the
 * request it belongs to), then the payload. Both ends are the same build of this package, so
 * the JSON parts are not validated again: the task fields they carry were validated when the
 * task was submitted and read back.
 */

/** Frame types. Worker → spawner: `env`, `spawn`. Spawner → worker: `pid`, `stdout`, `stderr`, `exit`. */
export const FRAME = {
  /** The base environment for the requests that follow (JSON object). ref 0. */
  env: 1,
  /** Start a command: u32 length of the JSON `SpawnRequestJson`, the JSON, then stdin bytes if `stdin: "bytes"`. */
  spawn: 2,
  /** The command started: u32 pid (also its process group id: it runs in its own session). */
  pid: 3,
  /** Bytes the command wrote to stdout. */
  stdout: 4,
  /** Bytes the command wrote to stderr. */
  stderr: 5,
  /** The command ended, or never started (JSON `SpawnExit`). The last frame of a request. */
  exit: 6,
} as const

export const HEADER_BYTES = 9

/** A command: the program, its arguments and where and as whom it runs. */
export interface SpawnTarget {
  file: string
  args: string[]
  cwd?: string
  /** Variables set over the base environment (the task's `environ`, AQUE_TID, AQUE_BROKER). */
  env: Record<string, string>
  uid?: number
  gid?: number
}

/** What the worker asks a spawner to start. */
export interface SpawnRequestJson extends SpawnTarget {
  /** `bytes`: the rest of the frame is fed to stdin, then stdin is closed. `file`: stdin reads `stdinPath`. */
  stdin: 'ignore' | 'bytes' | 'file'
  stdinPath?: string
}

/** How a command ended. */
export interface SpawnExit {
  /** Exit code; null if it was ended by a signal or never started. */
  code: number | null
  /** Name of the signal that ended it, or null. */
  signal: string | null
  /** Why it could not start (e.g. `spawn nosuch ENOENT`), or null if it ran. */
  error: string | null
}

/** One frame as one buffer. */
export function encodeFrame(type: number, ref: number, payload?: Uint8Array): Buffer {
  const length = payload?.byteLength ?? 0
  const frame = Buffer.allocUnsafe(HEADER_BYTES + length)
  frame.writeUInt32LE(length, 0)
  frame[4] = type
  frame.writeUInt32LE(ref, 5)
  if (payload) frame.set(payload, HEADER_BYTES)
  return frame
}

/** The payload of a `spawn` frame. */
export function encodeSpawn(request: SpawnRequestJson, stdin?: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(request))
  const payload = Buffer.allocUnsafe(4 + json.length + (stdin?.byteLength ?? 0))
  payload.writeUInt32LE(json.length, 0)
  json.copy(payload, 4)
  if (stdin) payload.set(stdin, 4 + json.length)
  return payload
}

/** Splits a `spawn` payload back into its request and stdin bytes. */
export function decodeSpawn(payload: Buffer): { request: SpawnRequestJson; stdin: Buffer } {
  const jsonLength = payload.readUInt32LE(0)
  const request = JSON.parse(payload.toString('utf8', 4, 4 + jsonLength)) as SpawnRequestJson
  return { request, stdin: payload.subarray(4 + jsonLength) }
}

/**
 * Reassembles frames from the chunks a pipe delivers (a frame may span chunks, a chunk may
 * hold many frames). Payloads handed out may share memory with the chunks: copy to keep them
 * past the callback.
 */
export class FrameReader {
  private chunks: Buffer[] = []
  private buffered = 0

  constructor(private readonly onFrame: (type: number, ref: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    let data = chunk
    if (this.buffered > 0) {
      this.chunks.push(chunk)
      this.buffered += chunk.length
      if (this.buffered < HEADER_BYTES || this.buffered < HEADER_BYTES + this.peekLength()) return
      data = Buffer.concat(this.chunks, this.buffered)
      this.chunks = []
      this.buffered = 0
    }
    let at = 0
    while (data.length - at >= HEADER_BYTES) {
      const length = data.readUInt32LE(at)
      const end = at + HEADER_BYTES + length
      if (end > data.length) break
      this.onFrame(data[at + 4] as number, data.readUInt32LE(at + 5), data.subarray(at + HEADER_BYTES, end))
      at = end
    }
    if (at < data.length) {
      this.chunks.push(data.subarray(at))
      this.buffered = data.length - at
    }
  }

  /** Payload length of the buffered frame (its header may itself span chunks). */
  private peekLength(): number {
    const head = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, HEADER_BYTES)
    return head.readUInt32LE(0)
  }
}
