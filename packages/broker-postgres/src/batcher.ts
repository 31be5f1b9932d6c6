interface Waiting<I, O> {
  item: I
  resolve(value: O): void
  reject(err: unknown): void
}

/** Items taken out of a Batcher to go with another statement; `settle` answers their callers. */
export interface TakenBatch<I, O> {
  items: I[]
  /** Resolves each caller with its result (in order), or rejects them all. */
  settle(results: O[] | { error: unknown }): void
}

/**
 * Coalesces concurrent calls into one statement: a call made while a batch is in flight waits
 * for it and goes out with the others in the next batch. A lone call is sent at the end of the
 * current turn of the event loop (setImmediate), so the calls of one turn (tasks ending
 * together) share a statement, and another statement made in that turn can `take` them and
 * carry them along in its own round trip; that adds microseconds, not a round trip.
 *
 * While held (`hold`), nothing is sent: the caller expects to carry the waiting calls in a
 * statement of its own soon, and `release` sends whatever is left at the end of that turn.
 */
export class Batcher<I, O> {
  private waiting: Waiting<I, O>[] = []
  private inFlight = 0
  private scheduled = false
  private holds = 0

  /**
   * @param run sends a batch; returns one result per item, in order
   * @param maxInFlight batches sent at once @default 1
   * @param maxSize most items in one batch @default 500
   */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxInFlight = 1,
    private readonly maxSize = 500,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject })
      this.schedule()
    })
  }

  /** Items waiting to be sent (not those in flight). */
  get pending(): number {
    return this.waiting.length
  }

  /** Takes up to `maxSize` waiting items out, for the caller to send and settle. */
  take(): TakenBatch<I, O> {
    const batch = this.waiting.splice(0, this.maxSize)
    return { items: batch.map((w) => w.item), settle: (results) => settle(batch, results) }
  }

  /** Sends nothing until the matching `release`. */
  hold(): void {
    this.holds++
  }

  /** Ends a `hold`: what still waits at the end of this turn is sent. */
  release(): void {
    this.holds--
    if (this.waiting.length > 0) this.schedule()
  }

  /** Resolves when nothing is waiting or in flight. */
  async idle(): Promise<void> {
    while (this.inFlight > 0 || this.waiting.length > 0) await new Promise((r) => setTimeout(r, 1))
  }

  private schedule(): void {
    if (this.scheduled || this.holds > 0 || this.inFlight >= this.maxInFlight) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.send()
    })
  }

  private send(): void {
    if (this.waiting.length === 0 || this.holds > 0 || this.inFlight >= this.maxInFlight) return
    const batch = this.waiting.splice(0, this.maxSize)
    this.inFlight++
    this.run(batch.map((w) => w.item))
      .then(
        (results) => settle(batch, results),
        (error: unknown) => settle(batch, { error }),
      )
      .finally(() => {
        this.inFlight--
        if (this.waiting.length > 0) this.schedule()
      })
  }
}

function settle<I, O>(batch: Waiting<I, O>[], results: O[] | { error: unknown }): void {
  if ('error' in results) {
    for (const w of batch) w.reject(results.error)
    return
  }
  for (const [i, w] of batch.entries()) w.resolve(results[i] as O)
}
