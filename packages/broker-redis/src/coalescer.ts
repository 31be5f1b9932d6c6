/**
 * Gathers the calls made in one turn of the event loop into one batch (one script call, one
 * round trip), and hands each caller its own reply. A worker finishing 32 tasks at once thus
 * costs Redis one script run instead of 32; a lone call waits only for the current turn.
 */
export class Coalescer<I, O> {
  private queue: { item: I; resolve: (value: O) => void; reject: (err: unknown) => void }[] = []
  private scheduled = false

  /**
   * @param run applies a batch; returns one reply per item, in order
   * @param maxBatch items per call at most @default 256
   */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 256,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(this.flush)
      }
    })
  }

  private flush = (): void => {
    this.scheduled = false
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch)
      this.run(batch.map((b) => b.item)).then(
        (replies) => {
          batch.forEach((b, i) => {
            b.resolve(replies[i] as O)
          })
        },
        (err: unknown) => {
          for (const b of batch) b.reject(err)
        },
      )
    }
  }
}
