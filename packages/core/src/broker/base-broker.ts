import { encode } from '../codec/codec.js'
import { DecodeError, TaskKilledError, ValidationError } from '../errors/classes.js'
import type { NewTask, Progress, TaskField, TaskRecord, TaskSpec, Usage } from '../task/record.js'
import { TASK_FIELDS } from '../task/record.js'
import { TASK_STATUSES, type TaskStatus } from '../task/states.js'
import type {
  BrokerCapabilities,
  BrokerImplementation,
  Changes,
  ClaimRequest,
  ClaimResult,
  LeaseRef,
  Outcome,
  OutputChunk,
  OutputInput,
  PatchFields,
  SearchFilter,
  SearchPage,
} from './contract.js'
import { EventHub, type EventListener, type OutputEvent, type StatusEvent } from './events.js'
import { decodeRecord, parseRecord, type TaskWithProblems } from './task-decoding.js'

const knownFields = new Set<string>(TASK_FIELDS)
const knownStatuses = new Set<string>(TASK_STATUSES)

function checkIds(ids: readonly number[], what = 'ids'): number[] {
  if (!Array.isArray(ids)) throw new ValidationError(`${what}: must be an array of task ids`)
  for (const id of ids) {
    if (!Number.isSafeInteger(id) || id <= 0) throw new ValidationError(`${what}: ${String(id)} is not a task id (a positive integer)`)
  }
  return [...ids]
}

function checkFields(fields: readonly string[] | undefined | null): TaskField[] | null {
  if (!fields) return null
  for (const f of fields) if (!knownFields.has(f)) throw new ValidationError(`fields: unknown task field "${f}"`)
  return fields.includes('id') ? ([...fields] as TaskField[]) : (['id', ...fields] as TaskField[])
}

/** Options of `search`. */
export interface SearchOptions {
  /** Only these fields (and `id`). @default all */
  fields?: TaskField[]
  /** At most this many tasks in all. @default unlimited */
  limit?: number
  /** Tasks per round trip to the server. @default 500 */
  pageSize?: number
}

/** An idle worker's free slots, offered to the next lone task submitted in this process (see `offerSlots`). */
export interface SlotOffer {
  worker: string
  leaseMs: number
  /** Whether the worker would run a task of this spec now (it fits; nothing to check against others). */
  accepts(spec: TaskSpec): boolean
  /**
   * The task claimed for the worker (already running under its lease). Returns whether the
   * offer still stands (the worker has free slots left): it is then offered again, and the
   * worker need not wake up to make a new one.
   */
  take(tasks: TaskRecord[]): boolean
}

/**
 * What every broker shares. Public methods validate and normalise, then call the `_` methods
 * of the implementation (see contract.ts), and publish what changed.
 */
export abstract class BaseBroker implements BrokerImplementation {
  abstract readonly scheme: string
  abstract readonly capabilities: BrokerCapabilities
  protected readonly events = new EventHub()
  private listening: Promise<void> | null = null
  private listened = false
  private closed = false

  // ---- lifecycle -------------------------------------------------------------------------
  /** Creates or migrates storage, idempotently (`aque init`). */
  async init(): Promise<void> {
    await this._init()
  }
  /** Removes aque's data from the backend (`aque init --reset`). */
  async destroy(): Promise<void> {
    await this._destroy()
  }
  /** Releases connections, timers and listeners. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.events.clear()
    await this._close()
  }
  get isClosed(): boolean {
    return this.closed
  }
  /** The URL for people: password hidden. */
  displayUrl(): string {
    return this.toUrl({ hidePassword: true })
  }

  // ---- scheduling ------------------------------------------------------------------------
  /**
   * Creates a batch atomically; returns the ids in batch order. Not async: a lone task handed
   * to an idle worker (submitToOffer) goes through no more promises than it needs.
   */
  submit(batch: NewTask[]): Promise<number[]> {
    try {
      checkDependencies(batch)
    } catch (err) {
      return Promise.reject(err)
    }
    if (batch.length === 0) return Promise.resolve([])
    return (this.offers.length > 0 ? this.submitToOffer(batch) : null) ?? this.submitQueued(batch)
  }

  private async submitQueued(batch: NewTask[]): Promise<number[]> {
    const result = await this._submit(batch, Date.now())
    const published = this.publishChanges(result)
    if (published) await published
    return result.ids
  }

  /** Claims up to `limit` ready tasks for a worker. Records that cannot be read are failed and left out. */
  async claim(request: Omit<ClaimRequest, 'now'> & { now?: number }): Promise<ClaimResult> {
    const now = request.now ?? Date.now()
    const result = await this._claim({ ...request, now })
    const published = this.publishChanges(result)
    if (published) await published
    // A trusted broker's records are used as they are: no async step per claim for them.
    if (this.capabilities.trustedRecords) return { tasks: result.tasks, nextRunAt: result.nextRunAt }
    return { tasks: await this.readClaimed(result.tasks), nextRunAt: result.nextRunAt }
  }

  /**
   * Offers the free slots of an idle worker of this process to the next lone task submitted
   * through this broker instance, for brokers that can claim a task in the statement that
   * stores it (`_submitClaimed`): the task is then running for that worker when the submit
   * returns, one round trip sooner. An offer is used once; the returned function withdraws it.
   */
  offerSlots(offer: SlotOffer): () => void {
    if (!this._submitClaimed) return () => {}
    this.offers.push(offer)
    return () => {
      const i = this.offers.indexOf(offer)
      if (i >= 0) this.offers.splice(i, 1)
    }
  }

  private readonly offers: SlotOffer[] = []

  /**
   * Stores one task and, if nothing else is ready to run before it, claims it for `claim.worker`
   * in the same atomic step (status `running`, attempt 1, under the lease). Optional: brokers
   * without it submit and let workers claim as usual.
   * @returns the id, and the claimed record if the task was claimed; `built`: that record was
   *   built in this process from the task as submitted, not read back, and is used as it is
   */
  protected _submitClaimed?(task: NewTask, now: number, claim: { worker: string; leaseMs: number }): Promise<{ id: number; claimed: TaskRecord | null; built?: boolean } & Changes>

  /** A lone submit handed to an idle local worker (see offerSlots); null at once if none takes it. */
  private submitToOffer(batch: NewTask[]): Promise<number[]> | null {
    const task = batch[0]
    const submitClaimed = this._submitClaimed
    if (!submitClaimed || batch.length !== 1 || !task || task.dependencies.length > 0) return null
    const now = Date.now()
    if (task.spec.runAt !== null && task.spec.runAt > now) return null
    const i = this.offers.findIndex((offer) => offer.accepts(task.spec))
    const offer = this.offers[i]
    if (!offer) return null
    this.offers.splice(i, 1)
    return settled(() => submitClaimed.call(this, task, now, offer)).then((result) => {
      const published = this.publishChanges(result)
      return published ? published.then(() => this.handOff(offer, result)) : this.handOff(offer, result)
    })
  }

  /** Gives the worker that offered its slots the task stored running for it, if it was; offers them again if they still stand. */
  private handOff(offer: SlotOffer, result: { id: number; claimed: TaskRecord | null; built?: boolean }): number[] | Promise<number[]> {
    const ids = [result.id]
    if (!result.claimed) return ids
    if (result.built) {
      if (offer.take([result.claimed])) this.offers.push(offer)
      return ids
    }
    return this.readClaimed([result.claimed]).then((tasks) => {
      if (offer.take(tasks)) this.offers.push(offer)
      return ids
    })
  }

  /** Claimed records as the worker may use them: checked unless the broker is trusted; unreadable ones failed and left out. */
  private async readClaimed(claimed: TaskRecord[]): Promise<TaskRecord[]> {
    if (this.capabilities.trustedRecords) return claimed
    const tasks: TaskRecord[] = []
    for (const raw of claimed) {
      const parsed = parseRecord(raw)
      if ('record' in parsed) {
        tasks.push(parsed.record)
        continue
      }
      // A corrupted record is reported on that task alone; the worker goes on with the rest.
      const err = new DecodeError(`task ${String(raw.id)} could not be read back: ${parsed.problem}`)
      const id = Number(raw.id)
      if (Number.isSafeInteger(id) && id > 0) await this.finish(id, null, { status: 'error', error: encode(err) })
    }
    return tasks
  }

  /** Renews leases; returns the ids whose lease was lost. */
  heartbeat(worker: string, leases: LeaseRef[], leaseMs: number): Promise<number[]> {
    if (leases.length === 0) return Promise.resolve([])
    return this._heartbeat(worker, leases, leaseMs, Date.now())
  }

  /**
   * Hands claimed tasks back to `pending` at once (a worker shutting down): their leases are
   * cut to now, then reaped. Built on the contract's heartbeat and reap.
   */
  async handBack(worker: string, leases: LeaseRef[]): Promise<void> {
    if (leases.length === 0) return
    await this._heartbeat(worker, leases, 0, Date.now())
    await this.reapExpired()
  }

  /** Records how a run ended, fenced by `attempt` (null: unfenced). False if the run had lost its lease. */
  finish(id: number, attempt: number | null, outcome: Outcome): Promise<boolean> {
    // Not async: every task ends here, and each layer of async function costs it promises.
    return settled(() => this._finish(id, attempt, outcome, Date.now())).then((result) => {
      const published = this.publishChanges(result)
      return published ? published.then(() => result.applied) : result.applied
    })
  }

  /**
   * Marks a run `suspended` (its worker paused it for more urgent work), fenced by `attempt`.
   * False if the run is no longer held (finished, killed, or its lease was lost).
   */
  suspend(id: number, attempt: number): Promise<boolean> {
    return this.setSuspended(id, attempt, true)
  }

  /** Marks a suspended run `running` again, fenced by `attempt`. False if the run is no longer held. */
  resume(id: number, attempt: number): Promise<boolean> {
    return this.setSuspended(id, attempt, false)
  }

  private async setSuspended(id: number, attempt: number, suspended: boolean): Promise<boolean> {
    checkIds([id])
    if (!Number.isSafeInteger(attempt) || attempt < 1) throw new ValidationError(`attempt: ${String(attempt)} is not a claimed attempt (a whole number ≥ 1)`)
    const result = await this._setSuspended(id, attempt, suspended, Date.now())
    await this.publishChanges(result)
    return result.applied
  }

  /** Returns tasks whose lease expired to `pending`. */
  async reapExpired(): Promise<number> {
    const result = await this._reapExpired(Date.now())
    await this.publishChanges(result)
    return result.changes.reduce((n, c) => n + c.ids.length, 0)
  }

  // ---- low-level task API ----------------------------------------------------------------
  /** Tasks by id, decoded; unknown ids are absent. */
  async fetch(ids: number[], fields?: TaskField[]): Promise<Map<number, TaskWithProblems>> {
    const raw = await this._fetch(checkIds(ids), checkFields(fields))
    const out = new Map<number, TaskWithProblems>()
    for (const [id, record] of raw) out.set(id, decodeRecord(record, this.capabilities.trustedRecords))
    return out
  }

  /** Raw records (codec text not decoded), for workers and tools that pass values on. */
  fetchRecords(ids: number[], fields?: TaskField[]): Promise<Map<number, Partial<TaskRecord>>> {
    return this._fetch(checkIds(ids), checkFields(fields))
  }

  /** Tasks matching `filter`, ascending by id, paged on the server. */
  async *search(filter: SearchFilter = {}, options: SearchOptions = {}): AsyncIterable<TaskWithProblems> {
    if (filter.status) for (const s of filter.status) if (!knownStatuses.has(s)) throw new ValidationError(`status: unknown state "${s}"`)
    const fields = checkFields(options.fields)
    const pageSize = options.pageSize ?? 500
    let remaining = options.limit ?? Number.POSITIVE_INFINITY
    let afterId = filter.afterId
    while (remaining > 0) {
      const page: SearchPage = await this._search({ ...filter, afterId }, Math.min(pageSize, remaining), fields)
      for (const record of page.records) yield decodeRecord(record, this.capabilities.trustedRecords)
      remaining -= page.records.length
      if (page.lastId === null || page.records.length === 0) return
      afterId = page.lastId
    }
  }

  /** Deletes tasks and their output; returns how many existed. */
  delete(ids: number[]): Promise<number> {
    return this._delete(checkIds(ids))
  }

  /** Number of tasks in each state (absent states: 0). */
  async counts(): Promise<Record<TaskStatus, number>> {
    const counts = await this._counts()
    const out = {} as Record<TaskStatus, number>
    for (const s of TASK_STATUSES) out[s] = counts[s] ?? 0
    return out
  }

  /**
   * Sets the status of tasks, validating the transition: `killed` kills, `pending` re-queues
   * (retry, successes included), `success`/`error` complete tasks that are not complete yet.
   */
  async setStatus(ids: number[], status: TaskStatus, value?: unknown): Promise<void> {
    checkIds(ids)
    switch (status) {
      case 'killed':
        await this.kill(ids)
        return
      case 'pending':
        await this.retry(ids, { includeSuccess: true })
        return
      case 'success':
      case 'error': {
        const outcome: Outcome = status === 'success' ? { status, result: encode(value) } : { status, error: encode(value) }
        for (const id of ids) await this.finish(id, null, outcome)
        return
      }
      default:
        throw new ValidationError(`status: cannot set a task to "${status}" directly`)
    }
  }

  /**
   * Kills tasks that are not complete (pending ones at once; running ones also get the signal).
   * With `dependencies`, the tasks they depend on, transitively, are killed too (`aque kill -r`).
   */
  async kill(ids: number[], signal = 'SIGTERM', options: { dependencies?: boolean } = {}): Promise<void> {
    let targets = checkIds(ids)
    if (options.dependencies) targets = await this.dependencyClosure(targets)
    const err = new TaskKilledError(`killed by ${signal}`)
    err.signal = signal
    err.stack = `${err.name}: ${err.message}`
    const result = await this._kill(targets, encode(err), Date.now())
    await this.publishChanges(result)
    await Promise.all(result.running.map((id) => this.emit(`task_signal.${id}`, { id, signal })))
  }

  /** The ids and every task they depend on, transitively. */
  async dependencyClosure(ids: number[]): Promise<number[]> {
    const seen = new Set(ids)
    let frontier = ids
    while (frontier.length > 0) {
      const records = await this._fetch(frontier, ['id', 'dependencies'])
      const next: number[] = []
      for (const record of records.values()) {
        for (const dep of record.dependencies ?? []) {
          if (!seen.has(dep)) {
            seen.add(dep)
            next.push(dep)
          }
        }
      }
      frontier = next
    }
    return [...seen]
  }

  /** Sends a signal to the processes of running tasks without changing their state. */
  async signal(ids: number[], signal: string): Promise<void> {
    await Promise.all(checkIds(ids).map((id) => this.emit(`task_signal.${id}`, { id, signal })))
  }

  /** Re-queues failed (and, with `includeSuccess`, succeeded) tasks under the same id. */
  async retry(ids: number[], options: { includeSuccess?: boolean } = {}): Promise<void> {
    const result = await this._retry(checkIds(ids), options.includeSuccess ?? false, Date.now())
    await this.publishChanges(result)
  }

  /** Stores progress on the task and publishes it. */
  async progress(id: number, progress: Omit<Progress, 'time'>): Promise<void> {
    const stored: Progress = { ...progress, time: Date.now() }
    await this._patch(id, { progress: stored })
    await this.emit(`task_progress.${id}`, { id, done: stored.done, total: stored.total, message: stored.message })
  }

  /** Stores resource usage totals on the task. */
  async usage(id: number, usage: Usage): Promise<void> {
    await this._patch(id, { usage })
  }

  /** Sets why a pending task is not running (null clears it). */
  async setReason(id: number, reason: string | null): Promise<void> {
    await this._patch(id, { reason })
  }

  /** Appends output chunks (offsets assigned by the broker) and publishes them live. */
  async appendOutput(id: number, chunks: OutputInput[]): Promise<OutputChunk[]> {
    if (chunks.length === 0) return []
    const stored = await this._appendOutput(id, chunks)
    for (const c of stored) {
      const event: OutputEvent = { id, stream: c.stream, offset: c.offset, data: Buffer.from(c.data).toString('base64') }
      await this.emit(`task_output.${id}`, event)
    }
    return stored
  }

  /** Stored output chunks of these tasks, from chunk `since` on. */
  getOutput(ids: number[], options: { since?: number } = {}): Promise<OutputChunk[]> {
    return this._getOutput(checkIds(ids), options.since ?? 0)
  }

  // ---- events ----------------------------------------------------------------------------
  /** Listens to an event of this broker, from this or any other process. Returns the unsubscribe function. */
  on(event: string, listener: EventListener): () => void {
    const off = this.events.on(event, listener)
    if (!this.listening) this.startListening()
    return off
  }
  /** Whether events from other processes are being received (an `on()` or `ready()` succeeded). */
  get isListening(): boolean {
    return this.listened
  }
  private startListening(): Promise<void> {
    const listening = this._listen()
    this.listening = listening
    listening.then(
      () => {
        if (this.listening === listening) this.listened = true
      },
      () => {
        // Reported to whoever awaits `ready()`; a later `on()` tries again.
        if (this.listening === listening) this.listening = null
      },
    )
    return listening
  }
  off(event: string, listener: EventListener): void {
    this.events.off(event, listener)
  }
  /** Resolves once events from other processes are being received. */
  async ready(): Promise<void> {
    await (this.listening ?? this.startListening())
  }
  /** Publishes an event to every process on this broker. */
  emit(event: string, payload: unknown): Promise<void> {
    return this._publish(event, payload)
  }

  /** Hands an event that arrived from the transport to the local listeners. */
  protected deliver(event: string, payload: unknown): void {
    this.events.dispatch(event, payload)
  }

  /**
   * Publishes the status changes and new work an operation reported. Undefined when there was
   * nothing to publish (or a broker whose server publishes them itself): the hot paths then
   * skip an await.
   */
  protected publishChanges(changes: Changes): Promise<void> | undefined {
    const events = changeEvents(changes)
    if (events.length === 0) return undefined
    // One event (a task's end, most often): its publish is the whole promise.
    if (events.length === 1) {
      const [event, payload] = events[0] as [string, unknown]
      return settled(() => this._publish(event, payload))
    }
    return (async () => {
      for (const [event, payload] of events) await this._publish(event, payload)
    })()
  }

  /**
   * Hands the events of the changes an operation reported to this process's listeners only: for
   * a broker whose server publishes them to the other processes itself (with a marker that
   * makes this process skip its own), this is sooner than a round trip through the server.
   */
  protected deliverChanges(changes: Changes): void {
    // Index loops: this runs a few times per task, often before V8 has optimised it, when
    // iterators and destructuring cost the most.
    const list = changes.changes
    for (let i = 0; i < list.length; i++) {
      const change = list[i] as Changes['changes'][number]
      if (change.ids.length === 0) continue
      this.deliver('task_status', change.outcomes ? { ids: change.ids, status: change.status, outcomes: change.outcomes } : { ids: change.ids, status: change.status })
    }
    if (changes.newWork) this.deliver('new_work', {})
  }

  // ---- the implementation's part (see contract.ts) -------------------------------------------
  abstract toUrl(options?: { hidePassword?: boolean }): string
  abstract _init(): Promise<void>
  abstract _destroy(): Promise<void>
  abstract _close(): Promise<void>
  abstract _submit(batch: NewTask[], now: number): Promise<{ ids: number[] } & Changes>
  abstract _claim(request: ClaimRequest): Promise<ClaimResult & Changes>
  abstract _heartbeat(worker: string, leases: LeaseRef[], leaseMs: number, now: number): Promise<number[]>
  abstract _finish(id: number, attempt: number | null, outcome: Outcome, now: number): Promise<{ applied: boolean } & Changes>
  abstract _setSuspended(id: number, attempt: number, suspended: boolean, now: number): Promise<{ applied: boolean } & Changes>
  abstract _reapExpired(now: number): Promise<Changes>
  abstract _kill(ids: number[], error: string, now: number): Promise<{ running: number[] } & Changes>
  abstract _retry(ids: number[], includeSuccess: boolean, now: number): Promise<Changes>
  abstract _fetch(ids: number[], fields: TaskField[] | null): Promise<Map<number, Partial<TaskRecord>>>
  abstract _search(filter: SearchFilter, limit: number, fields: TaskField[] | null): Promise<SearchPage>
  abstract _delete(ids: number[]): Promise<number>
  abstract _counts(): Promise<Partial<Record<TaskStatus, number>>>
  abstract _patch(id: number, fields: PatchFields): Promise<void>
  abstract _appendOutput(id: number, chunks: OutputInput[]): Promise<OutputChunk[]>
  abstract _getOutput(ids: number[], since: number): Promise<OutputChunk[]>
  abstract _publish(event: string, payload: unknown): Promise<void>
  abstract _listen(): Promise<void>
}

/** `start()`'s promise; a synchronous throw of an implementation becomes its rejection. */
/** Checks the dependencies of a batch: an index names an earlier task of it, an id is a task id. */
function checkDependencies(batch: NewTask[]): void {
  for (let i = 0; i < batch.length; i++) {
    for (const dep of (batch[i] as NewTask).dependencies) {
      if ('index' in dep && !(Number.isInteger(dep.index) && dep.index >= 0 && dep.index < i)) {
        throw new ValidationError(`batch[${i}].dependencies: index ${dep.index} does not name an earlier task of the batch`)
      }
      if ('id' in dep) checkIds([dep.id], `batch[${i}].dependencies`)
    }
  }
}

function settled<T>(start: () => Promise<T>): Promise<T> {
  try {
    return start()
  } catch (err) {
    return Promise.reject(err)
  }
}

/** The events that announce `changes`: one `task_status` per status, then `new_work`. */
function changeEvents(changes: Changes): Array<[string, StatusEvent | Record<string, never>]> {
  const out: Array<[string, StatusEvent | Record<string, never>]> = []
  for (const change of changes.changes) {
    if (change.ids.length === 0) continue
    out.push(['task_status', change.outcomes ? { ids: change.ids, status: change.status, outcomes: change.outcomes } : { ids: change.ids, status: change.status }])
  }
  if (changes.newWork) out.push(['new_work', {}])
  return out
}

/** The type users hold: any broker. */
export type Broker = BaseBroker
