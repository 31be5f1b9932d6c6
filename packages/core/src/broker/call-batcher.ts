interface Waiting<I, O> {
  item: I
  resolve(value: O): void
  reject(err: unknown): void
}

/** Items taken out of a CallBatcher to go with another request; `settle` answers their callers. */
export interface TakenBatch<I, O> {
  items: I[]
  /** Resolves each caller with its result (in order), or rejects them all. */
  settle(results: O[] | { error: unknown }): void
}

export interface CallBatcherOptions {
  /**
   * Schedules a flush at the end of the current turn of the event loop. A broker can pass its
   * own (one that corks its socket around everything deferred to that turn).
   * @default setImmediate
   */
  defer?: (flush: () => void) => void
  /** Batches in flight at once; calls made while that many are out wait for one to end. @default unlimited */
  maxInFlight?: number
  /** Most items in one batch. @default 500 */
  maxSize?: number
}

/**
 * Gathers the calls a broker gets in one turn of the event loop (tasks ending together, say)
 * into one batch: one statement or script run, one round trip, instead of one per call; each
 * caller gets its own result. A lone call waits only for the end of the current turn.
 *
 * Another request made in that turn can `take` the waiting items and carry them in its own
 * round trip. While held (`hold`), nothing is sent: the holder expects to carry the waiting
 * calls soon, and `release` sends whatever is left at the end of that turn.
 */
export class CallBatcher<I, O> {
  private waiting: Waiting<I, O>[] = []
  private inFlight = 0
  private scheduled = false
  private holds = 0
  private readonly defer: (flush: () => void) => void
  private readonly maxInFlight: number
  private readonly maxSize: number

  /** @param run sends a batch; resolves with one result per item, in order */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    options: CallBatcherOptions = {},
  ) {
    this.defer = options.defer ?? setImmediate
    this.maxInFlight = options.maxInFlight ?? Number.POSITIVE_INFINITY
    this.maxSize = options.maxSize ?? 500
  }

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

  /** The items `take` would take, oldest first (a copy). */
  peek(): I[] {
    return this.waiting.slice(0, this.maxSize).map((w) => w.item)
  }

  /** Takes up to `max` (at most `maxSize`) waiting items out, for the caller to send and settle. */
  take(max = this.maxSize): TakenBatch<I, O> {
    const batch = this.waiting.splice(0, Math.min(max, this.maxSize))
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

  private get mayFlush(): boolean {
    return this.holds === 0 && this.inFlight < this.maxInFlight
  }

  private schedule(): void {
    if (this.scheduled || !this.mayFlush) return
    this.scheduled = true
    this.defer(this.flush)
  }

  /** Sends what waits, in batches of at most maxSize, as far as maxInFlight allows. */
  private flush = (): void => {
    this.scheduled = false
    while (this.waiting.length > 0 && this.mayFlush) {
      const batch = this.waiting.splice(0, this.maxSize)
      this.inFlight++
      let sent: Promise<O[]>
      try {
        sent = this.run(batch.map((w) => w.item))
      } catch (error) {
        sent = Promise.reject(error)
      }
      // One step for both outcomes (a `finally` would be a promise more per batch).
      const done = (results: O[] | { error: unknown }) => {
        this.inFlight--
        settle(batch, results)
        if (this.waiting.length > 0) this.schedule()
      }
      sent.then(done, (error: unknown) => done({ error }))
    }
  }
}

function settle<I, O>(batch: Waiting<I, O>[], results: O[] | { error: unknown }): void {
  if ('error' in results) {
    for (const w of batch) w.reject(results.error)
    return
  }
  for (let i = 0; i < batch.length; i++) (batch[i] as Waiting<I, O>).resolve(results[i] as O)
}
