import type { BaseBroker } from '../broker/base-broker.js'
import type { StatusEvent } from '../broker/events.js'
import { AbortedError, TaskNotFoundError, TimeoutError } from '../errors/classes.js'
import { COMPLETE_STATES, type TaskStatus } from '../task/states.js'

/** Options of every wait. */
export interface WaitOptions {
  /** Give up after this many ms with TimeoutError. @default no limit */
  timeout?: number
  /** Give up when this signal aborts, with AbortedError. */
  signal?: AbortSignal
}

/**
 * Back-up check of the stored status while waiting, ms. Events wake waiters within
 * milliseconds; this only covers a lost message (a broker connection that dropped).
 */
export const SAFETY_POLL_MS = 2000
/** Ids per read of the safety poll and of the first checks. */
const READ_BATCH = 1000
/** Tasks submitted by this process whose completion is remembered until someone waits for it. */
const MAX_BIRTHS = 10_000

/** How a task ended: its status and, when known, the codec text of its result (success) or error. */
export interface Completion {
  status: TaskStatus
  /** Codec text of the result or error; undefined when it must still be read. */
  outcome?: string | null
}

export interface Waiter {
  done(completion: Completion): void
  fail(err: Error): void
}

/**
 * Watches the completion of any number of tasks of one broker with one status listener, one
 * batched first read per tick and one safety poll for all of them: waiting on 10,000 futures
 * costs what waiting on one does, plus a read of 1,000 ids a batch every SAFETY_POLL_MS.
 * Brokers may put the outcome in the status event (`outcomes`), which saves the read.
 */
class CompletionWatcher {
  private readonly waiters = new Map<number, Set<Waiter>>()
  /**
   * Tasks submitted while this watcher was already hearing every status event (births): their
   * completion is heard here whenever it comes, so a wait for one needs no first read (a round
   * trip on a remote broker). Null until completed. The oldest are forgotten past MAX_BIRTHS
   * (a wait for one of those reads the status first, as for any other task).
   */
  private readonly births = new Map<number, Completion | null>()
  private off: (() => void) | null = null
  private poll: NodeJS.Timeout | null = null
  private toCheck: number[] = []

  constructor(private readonly broker: BaseBroker) {}

  /**
   * True if status events are being heard already (someone waited on this broker before), so
   * that the completion of a task submitted now cannot be missed (see `born`). A process that
   * only submits never starts listening.
   */
  arm(): boolean {
    return this.off !== null && this.broker.isListening
  }

  /** Tasks just submitted after `arm()` returned true. */
  born(ids: number[]): void {
    for (const id of ids.length > MAX_BIRTHS ? ids.slice(-MAX_BIRTHS) : ids) this.births.set(id, null)
    for (const id of this.births.keys()) {
      if (this.births.size <= MAX_BIRTHS) break
      this.births.delete(id)
    }
  }

  watch(id: number, waiter: Waiter): () => void {
    let set = this.waiters.get(id)
    if (!set) {
      set = new Set()
      this.waiters.set(id, set)
    }
    set.add(waiter)
    this.off ??= this.broker.on('task_status', this.onStatus)
    if (!this.poll) {
      const poll = setInterval(() => {
        // Stopped here once nothing is waited for, rather than when the last wait ends: a
        // process awaiting one task at a time would make and clear a timer per task.
        if (this.waiters.size === 0) {
          clearInterval(poll)
          this.poll = null
          return
        }
        this.check([...this.waiters.keys()], false)
      }, SAFETY_POLL_MS)
      poll.unref()
      this.poll = poll
    }
    const birth = this.births.get(id)
    this.births.delete(id)
    if (birth) {
      queueMicrotask(() => this.settle(id, birth))
    } else if (birth === undefined) {
      // Subscribed first, then read: a completion between the two is never missed.
      if (this.toCheck.length === 0) queueMicrotask(() => this.check(this.toCheck.splice(0), true))
      this.toCheck.push(id)
    }
    return () => this.remove(id, waiter)
  }

  private remove(id: number, waiter: Waiter): void {
    const set = this.waiters.get(id)
    if (!set) return
    set.delete(waiter)
    if (set.size === 0) this.waiters.delete(id)
    // The status listener stays: a process that waited once is likely to wait again, and
    // events are received anyway once the broker listens; births need it. The safety poll
    // stops at its next beat.
  }

  private settle(id: number, completion: Completion): void {
    const set = this.waiters.get(id)
    if (!set) return
    this.waiters.delete(id)
    for (const w of set) this.remove(id, w)
    for (const w of set) w.done(completion)
  }

  private failAll(id: number, err: Error): void {
    const set = this.waiters.get(id)
    if (!set) return
    this.waiters.delete(id)
    for (const w of set) this.remove(id, w)
    for (const w of set) w.fail(err)
  }

  private onStatus = (payload: unknown): void => {
    const event = payload as StatusEvent
    if (!COMPLETE_STATES.has(event.status)) return
    const ids = event.ids
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number
      if (this.waiters.has(id)) this.settle(id, { status: event.status, outcome: event.outcomes?.[id] })
      else if (this.births.get(id) === null) this.births.set(id, { status: event.status, outcome: event.outcomes?.[id] })
    }
  }

  /** Reads the stored status of `ids`; a failed `first` read fails their waits, a failed poll is retried by the next. */
  private check(ids: number[], first: boolean): void {
    for (let i = 0; i < ids.length; i += READ_BATCH) {
      const batch = ids.slice(i, i + READ_BATCH).filter((id) => this.waiters.has(id))
      if (batch.length === 0) continue
      this.broker.fetchRecords(batch, ['status', 'result', 'error']).then(
        (records) => {
          for (const id of batch) {
            const record = records.get(id)
            if (!record) this.failAll(id, new TaskNotFoundError(`task ${id} does not exist`))
            else if (record.status && COMPLETE_STATES.has(record.status)) {
              const text = record.status === 'success' ? record.result : record.error
              this.settle(id, { status: record.status, outcome: typeof text === 'string' || text === null ? text : undefined })
            }
          }
        },
        (err: Error) => {
          if (first) for (const id of batch) this.failAll(id, err)
        },
      )
    }
  }
}

const watchers = new WeakMap<BaseBroker, CompletionWatcher>()

function watcherOf(broker: BaseBroker): CompletionWatcher {
  let watcher = watchers.get(broker)
  if (!watcher) {
    watcher = new CompletionWatcher(broker)
    watchers.set(broker, watcher)
  }
  return watcher
}

/**
 * Before a submit: starts hearing status events of `broker`; true if they are heard already,
 * in which case `noteBirths` after the submit lets waits on the new tasks skip their first read.
 */
export function armCompletions(broker: BaseBroker): boolean {
  return watcherOf(broker).arm()
}

/** After a submit for which `armCompletions` returned true: the ids it created. */
export function noteBirths(broker: BaseBroker, ids: number[]): void {
  watcherOf(broker).born(ids)
}

/** Calls `waiter` once task `id` is complete (or cannot be waited for). Returns the cancel function. */
export function watchCompletion(broker: BaseBroker, id: number, waiter: Waiter): () => void {
  return watcherOf(broker).watch(id, waiter)
}

/** Resolves when task `id` is complete, with its status (and outcome text when known). */
export function waitForCompletion(broker: BaseBroker, id: number, options: WaitOptions = {}): Promise<Completion> {
  return new Promise<Completion>((resolve, reject) => {
    if (options.signal?.aborted) return reject(new AbortedError(`waiting for task ${id} was aborted`))
    let timer: NodeJS.Timeout | undefined
    const end = () => {
      cancel()
      if (timer) clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
    }
    const onAbort = () => {
      end()
      reject(new AbortedError(`waiting for task ${id} was aborted`))
    }
    const cancel = watcherOf(broker).watch(id, {
      done(completion) {
        end()
        resolve(completion)
      },
      fail(err) {
        end()
        reject(err)
      },
    })
    options.signal?.addEventListener('abort', onAbort, { once: true })
    if (options.timeout !== undefined) {
      timer = setTimeout(() => {
        end()
        reject(new TimeoutError(`task ${id} did not complete within ${options.timeout} ms`))
      }, options.timeout)
    }
  })
}
