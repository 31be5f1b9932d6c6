import type { TaskRecord } from '../task/record.js'

/** Runs shorter than this on average (ms) make a worker claim ahead. */
const SHORT_RUN_MS = 10
/** Weight of the newest run in the running mean of run times. */
const EWMA_WEIGHT = 0.1

/** A task claimed ahead, waiting for a slot. */
export interface AheadTask {
  record: TaskRecord
  /** When it was claimed (ms, Date.now()). */
  claimedAt: number
}

/**
 * Claim-ahead: while a worker runs short tasks, it claims up to `limit` more than it has
 * slots for, so that the broker prepares the next batch while this one runs (with a
 * remote broker, claiming only when slots free up leaves the worker idle for a round trip
 * after every batch, and the server idle while the worker runs it).
 *
 * Only tasks that reserve no CPU or memory are claimed ahead, and only while the running
 * mean of run times is short: a long task never holds claimed tasks hostage for long. Tasks
 * that still wait after `maxWaitMs` go back to `pending` for another worker.
 */
export class ClaimAhead {
  private readonly waiting: AheadTask[] = []
  /** Running mean of run times, ms; starts short (a fresh worker claims ahead). */
  private meanRunMs = 0
  /** Tasks went back for waiting too long: claim none ahead until a run ends (else it would take them again). */
  private stalled = false

  /**
   * @param limit most tasks waiting at once (0: off)
   * @param maxWaitMs longest a task waits for a slot before it is handed back
   */
  constructor(
    readonly limit: number,
    readonly maxWaitMs: number,
  ) {}

  /** Tasks waiting for a slot. */
  get size(): number {
    return this.waiting.length
  }

  /** How many more tasks the next claim may take ahead of free slots. */
  get room(): number {
    if (this.limit === 0 || this.stalled || this.meanRunMs >= SHORT_RUN_MS) return 0
    return Math.max(0, this.limit - this.waiting.length)
  }

  /** Whether `task` may wait for a slot: it reserves nothing a waiting task would hold. */
  static canWait(cpus: number, memory: number): boolean {
    return cpus === 0 && memory === 0
  }

  add(record: TaskRecord, now: number): void {
    this.waiting.push({ record, claimedAt: now })
  }

  /** The next task to start, oldest claim first. */
  next(): TaskRecord | undefined {
    return this.waiting.shift()?.record
  }

  /** Takes out the tasks that waited longer than `maxWaitMs` (to hand back). */
  takeStale(now: number): TaskRecord[] {
    let n = 0
    while (n < this.waiting.length && now - (this.waiting[n] as AheadTask).claimedAt > this.maxWaitMs) n++
    if (n > 0) this.stalled = true
    return this.waiting.splice(0, n).map((t) => t.record)
  }

  /** Takes out every waiting task (stopping). */
  takeAll(): TaskRecord[] {
    return this.waiting.splice(0).map((t) => t.record)
  }

  /** Takes out one task (its lease was lost); true if it was waiting. */
  remove(id: number): boolean {
    const i = this.waiting.findIndex((t) => t.record.id === id)
    if (i < 0) return false
    this.waiting.splice(i, 1)
    return true
  }

  /** The records waiting (for lease renewal). */
  records(): TaskRecord[] {
    return this.waiting.map((t) => t.record)
  }

  /** Oldest claim time among the waiting tasks, or null. */
  get oldestClaimAt(): number | null {
    return this.waiting[0]?.claimedAt ?? null
  }

  /** Counts a finished run's time into the running mean. */
  ran(ms: number): void {
    this.stalled = false
    this.meanRunMs += EWMA_WEIGHT * (ms - this.meanRunMs)
  }
}
