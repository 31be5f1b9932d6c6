import type { OutputChunk } from '@aque/core'

const NEWLINE = 0x0a

/**
 * Reads a stored output chunk (see append-output-1.lua): "<stream>\n<offset>\n<time>\n" then
 * the bytes, kept as they were written.
 */
export function decodeChunk(id: number, seq: number, item: Buffer): OutputChunk {
  const a = item.indexOf(NEWLINE)
  const b = item.indexOf(NEWLINE, a + 1)
  const c = item.indexOf(NEWLINE, b + 1)
  if (a < 0 || b < 0 || c < 0) throw new Error(`output chunk ${seq} of task ${id} is corrupted`)
  return {
    id,
    seq,
    stream: item.subarray(0, a).toString('utf8'),
    offset: Number(item.subarray(a + 1, b).toString('latin1')),
    time: Number(item.subarray(b + 1, c).toString('latin1')),
    data: new Uint8Array(item.subarray(c + 1)),
  }
}
