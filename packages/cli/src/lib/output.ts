import type { Broker, OutputChunk } from '@aque/core'
import { Future } from '@aque/core'

/** Writes, waiting for the pipe to drain; a closed pipe (`| head`) ends quietly. */
export function write(stream: NodeJS.WriteStream, data: Uint8Array | string): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) return resolve()
    const ok = stream.write(data, () => resolve())
    if (ok) resolve()
  })
}

/** The task streams printed by default: a command's stdout and stderr. */
export const DEFAULT_STREAMS: readonly string[] = ['stdout', 'stderr']

/**
 * Where a chunk goes: stderr to stderr, every other chosen stream (stdout, log, progress,
 * usage) to stdout, streams not chosen nowhere.
 */
function target(chunk: OutputChunk, streams: readonly string[]): NodeJS.WriteStream | null {
  if (!streams.includes(chunk.stream)) return null
  return chunk.stream === 'stderr' ? process.stderr : process.stdout
}

/** Prints what a task wrote so far. */
export async function printStored(broker: Broker, id: number, streams: readonly string[] = DEFAULT_STREAMS): Promise<void> {
  for (const chunk of await broker.getOutput([id])) {
    const stream = target(chunk, streams)
    if (stream) await write(stream, chunk.data)
  }
}

/** Prints a task's output live until it completes. */
export async function follow(broker: Broker, id: number, streams: readonly string[] = DEFAULT_STREAMS): Promise<void> {
  for await (const chunk of new Future(id, broker).output()) {
    const stream = target(chunk, streams)
    if (stream) await write(stream, chunk.data)
  }
}

/** The task's stdout as bytes (what `--pipe-from` feeds and `wait --results` prints for a command). */
export async function stdoutOf(broker: Broker, id: number): Promise<Buffer> {
  const chunks = (await broker.getOutput([id])).filter((c) => c.stream === 'stdout').sort((a, b) => a.offset - b.offset)
  return Buffer.concat(chunks.map((c) => c.data))
}
