import type { BaseBroker } from '../broker/base-broker.js'
import type { OutputInput } from '../broker/contract.js'

/** At most one write per task in this period under heavy output, ms; also the longest delay. */
export const OUTPUT_FLUSH_MS = 100
/**
 * Largest stored chunk, bytes: a task writing faster than that per period gets several chunks
 * in one write, so that no single value or published event grows without bound.
 */
export const MAX_CHUNK_BYTES = 4 << 20

interface PendingChunk {
  stream: string
  parts: Uint8Array[]
  time: number
}

/**
 * Buffers a task's output and writes it to the broker in batches: at most one write per
 * OUTPUT_FLUSH_MS, so a chatty process costs a few writes a second, and nothing waits longer
 * than that before it is stored and published. Consecutive pieces of one stream are merged
 * (once, when written), keeping order across streams.
 */
export class OutputWriter {
  private pending: PendingChunk[] = []
  private timer: NodeJS.Timeout | null = null
  private writing: Promise<void> = Promise.resolve()
  private failure: unknown = null

  constructor(
    private readonly broker: BaseBroker,
    private readonly id: number,
  ) {}

  write(stream: string, data: Uint8Array | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data
    if (bytes.byteLength === 0) return
    const last = this.pending[this.pending.length - 1]
    // Copy: the caller may reuse its buffer.
    const copy = Buffer.from(bytes)
    if (last && last.stream === stream) last.parts.push(copy)
    else this.pending.push({ stream, parts: [copy], time: Date.now() })
    this.timer ??= setTimeout(() => {
      this.timer = null
      this.drain()
    }, OUTPUT_FLUSH_MS)
  }

  private drain(): void {
    if (this.pending.length === 0) return
    const batch: OutputInput[] = []
    for (const p of this.pending) {
      const data = p.parts.length === 1 ? (p.parts[0] as Uint8Array) : Buffer.concat(p.parts)
      for (let at = 0; at < data.byteLength; at += MAX_CHUNK_BYTES) {
        batch.push({ stream: p.stream, data: data.subarray(at, at + MAX_CHUNK_BYTES), time: p.time })
      }
    }
    this.pending = []
    this.writing = this.writing.then(() =>
      this.broker.appendOutput(this.id, batch).then(
        () => undefined,
        (err: unknown) => {
          this.failure ??= err
        },
      ),
    )
  }

  /** Writes everything buffered; rejects if any write failed (the run must not report success then). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.drain()
    await this.writing
    if (this.failure) throw this.failure
  }
}
