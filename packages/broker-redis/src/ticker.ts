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
