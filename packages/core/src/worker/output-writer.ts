import type { BaseBroker } from '../broker/base-broker.js'
import type { OutputInput } from '../broker/contract.js'

/** At most one write per task in this period under heavy output, ms. */
export const OUTPUT_FLUSH_MS = 100
/** Flush at once past this many buffered bytes. */
const FLUSH_BYTES = 1 << 20

/**
 * Buffers a task's output and writes it to the broker in batches: at most one write per
 * OUTPUT_FLUSH_MS, so a chatty process costs a few writes a second, and nothing waits longer
 * than that before it is stored and published. Chunks of one stream that arrive together are
 * merged, keeping order.
 */
export class OutputWriter {
  private pending: OutputInput[] = []
  private bytes = 0
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
    if (last && last.stream === stream) {
      last.data = Buffer.concat([last.data, bytes])
    } else {
      this.pending.push({ stream, data: Buffer.from(bytes), time: Date.now() })
    }
    this.bytes += bytes.byteLength
    if (this.bytes >= FLUSH_BYTES) this.flushSoon(0)
    else this.flushSoon(OUTPUT_FLUSH_MS)
  }

  private flushSoon(delay: number): void {
    if (this.timer && delay > 0) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      this.drain()
    }, delay)
  }

  private drain(): void {
    if (this.pending.length === 0) return
    const batch = this.pending
    this.pending = []
    this.bytes = 0
    this.writing = this.writing.then(
      () =>
        this.broker.appendOutput(this.id, batch).then(
          () => undefined,
          (err: unknown) => {
            this.failure = err
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
