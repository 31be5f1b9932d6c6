/**
 * Runs deferred work of one turn of the event loop together, in order, in one callback given
 * to `wrap`: the Redis commands it issues then leave in one write. On a busy machine each
 * write to Redis can cost a context switch, so this matters more than the commands themselves.
 */
export class Ticker {
  private jobs: Array<() => void> = []

  /** @param wrap runs the callback (the broker's connection corks its socket around it) */
  constructor(private readonly wrap: (run: () => void) => void = (run) => run()) {}

  /** Whether jobs wait for the next run. */
  get pending(): boolean {
    return this.jobs.length > 0
  }

  /** Runs `job` in the next run, after the jobs already waiting. */
  defer(job: () => void): void {
    this.jobs.push(job)
    if (this.jobs.length === 1) setImmediate(this.run)
  }

  private run = (): void => {
    const jobs = this.jobs
    this.jobs = []
    this.wrap(() => {
      for (const job of jobs) job()
    })
  }
}

/**
 * Gathers the calls made in one turn of the event loop into one batch (one script call, one
 * round trip), and hands each caller its own reply. A worker finishing 32 tasks at once thus
 * costs Redis one script run instead of 32; a lone call waits only for the current turn.
 */
export class Coalescer<I, O> {
  private queue: { item: I; resolve: (value: O) => void; reject: (err: unknown) => void }[] = []

  /**
   * @param run applies a batch; returns one reply per item, in order
   * @param ticker where the flush is deferred to
   * @param maxBatch items per call at most @default 256
   */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly ticker: Ticker,
    private readonly maxBatch = 256,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject })
      if (this.queue.length === 1) this.ticker.defer(this.flush)
    })
  }

  private flush = (): void => {
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
