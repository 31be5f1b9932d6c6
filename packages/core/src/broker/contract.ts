/**
 * The broker contract: what every broker implements, member by member.
 *
 * A broker extends `BaseBroker` (base-broker.ts) and implements the protected `_` methods
 * declared in `BrokerImplementation` below. The public methods of `BaseBroker` validate and
 * normalise their input, then call these with clean, typed arguments: an implementation owns
 * storage, atomicity and event transport, nothing else. Behaviour shared by all brokers (codec,
 * errors, defaults, graph flattening, event fan-out, retry policy) lives in core.
 *
 * Conventions: ids are positive integers assigned by the broker, increasing in submission
 * order. Times are milliseconds since the epoch (`now` is passed in by the caller so that tests
 * and one process see one clock). Durations are milliseconds. Codec text is the output of
 * `encode()` and is stored and returned verbatim.
 */
import type { NewTask, Progress, TaskField, TaskRecord, Usage } from '../task/record.js'
import type { TaskStatus } from '../task/states.js'

/** What a broker can do; the conformance suite reads it to decide what to test. */
export interface BrokerCapabilities {
  /** Runs plain closures registered in this process (`local:N`): only an in-process broker. */
  localFunctions: boolean
  /** Data outlives the process and other processes given `toUrl()` reach the same tasks. */
  shared: boolean
  /** Records come from this process's own memory, never from text: the base skips re-validating them. */
  trustedRecords: boolean
}

export interface ClaimRequest {
  /** Id of the claiming worker, stored on the task. */
  worker: string
  /** At most this many tasks. */
  limit: number
  /** Length of the lease from `now`, ms. */
  leaseMs: number
  now: number
  /**
   * Worker-side fit (resources, host rules). Candidates are considered in dispatch order
   * (priority desc, duration desc, id asc); refused ones are skipped and stay pending. A broker
   * may look at a bounded window of candidates (at least 64) per call.
   */
  accept?: ((task: TaskRecord) => boolean) | undefined
}

export interface ClaimResult {
  /**
   * Claimed tasks, now `running`, `attempt` incremented, `leaseUntil` = now + leaseMs. With
   * `trustedRecords` these may be the broker's own objects: read-only, and a caller that keeps
   * `attempt` (its fencing token) copies it at once. Without it, each must be a fresh object
   * the broker keeps no hold on: the base hands a valid one on as it is (no copy).
   */
  tasks: TaskRecord[]
  /** When nothing is ready now: the earliest `runAt` of a delayed ready task, else null. */
  nextRunAt: number | null
}

/** A claim held by a worker: the fencing token is the attempt. */
export interface LeaseRef {
  id: number
  attempt: number
}

/** How a run ended, with codec text. `retryAt` puts an erroring task back to pending at that time. */
export type Outcome =
  | { status: 'success'; result: string }
  | { status: 'error'; error: string; retryAt?: number | null }
  | { status: 'killed'; error: string }

export interface StatusChange {
  status: TaskStatus
  ids: number[]
  /**
   * Codec text of the result/error of some of the ids, put in the status event so that a
   * waiting Future need not read it back. Include only small values (a few KB).
   */
  outcomes?: Record<number, string>
}

/** What an operation changed, so that the base can publish it. */
export interface Changes {
  changes: StatusChange[]
  /** Some task became ready to run (idle workers should look). */
  newWork: boolean
}

export interface OutputInput {
  stream: string
  data: Uint8Array
  /** ms since the epoch */
  time: number
}

/** A stored piece of a task's output. Reassembling a stream's chunks by offset gives its bytes. */
export interface OutputChunk extends OutputInput {
  id: number
  /** Position of the chunk among all the task's chunks, from 0. */
  seq: number
  /** Byte offset of `data` in its stream. */
  offset: number
}

export interface SearchFilter {
  status?: TaskStatus[] | undefined
  parent?: number | undefined
  user?: string | undefined
  /** Only ids greater than this (the paging cursor). */
  afterId?: number | undefined
}

export interface SearchPage {
  records: Partial<TaskRecord>[]
  /** Ids are returned ascending; null when there is nothing after this page. */
  lastId: number | null
}

export interface PatchFields {
  progress?: Progress | null
  usage?: Usage | null
  reason?: string | null
}

/** The private methods a broker implements. Each is called with validated arguments. */
export interface BrokerImplementation {
  readonly scheme: string
  readonly capabilities: BrokerCapabilities

  /** Creates or migrates storage; idempotent and safe when run by two processes at once. */
  _init(): Promise<void>
  /** Removes every piece of this broker's data (only aque's). */
  _destroy(): Promise<void>
  /** Releases connections and timers. */
  _close(): Promise<void>
  /** URL that reaches the same data from another process; with the password unless `hidePassword`. */
  toUrl(options?: { hidePassword?: boolean }): string

  /**
   * Creates a batch atomically: every task in `creating` then all `pending` at once. Ids are
   * assigned in batch order. A task whose dependencies are all `success` is ready; one with a
   * failed dependency (error/killed) ends in `error` at once with
   * `dependencyFailedText(depId, depStatus)`, transitively within the batch.
   * Throws DependencyResolutionError, creating nothing, if a dependency id does not exist.
   */
  _submit(batch: NewTask[], now: number): Promise<{ ids: number[] } & Changes>

  /** Claims ready tasks (dependencies all `success`, `runAt` reached) in dispatch order. Never scans waiting tasks. */
  _claim(request: ClaimRequest): Promise<ClaimResult & Changes>

  /** Extends the leases still held; returns the ids of those that are lost (status or attempt changed). */
  _heartbeat(worker: string, leases: LeaseRef[], leaseMs: number, now: number): Promise<number[]>

  /**
   * Records the end of a run, fenced: only if the task is `running` or `suspended` with this
   * `attempt` (when `attempt` is null: if the task is not complete). Returns `applied: false`
   * and changes nothing otherwise. On success, releases dependents whose dependencies are now
   * all `success`. On error/killed (and no `retryAt`), every transitive dependent that is not
   * complete ends in `error` with `dependencyFailedText(id, status)` and `failedDependency = id`.
   */
  _finish(id: number, attempt: number | null, outcome: Outcome, now: number): Promise<{ applied: boolean } & Changes>

  /**
   * Pauses or resumes a run, fenced like `_finish`: only if the task is `running` or `suspended`
   * with this `attempt`. Sets `suspended` (when `suspended` is true) or `running`, and nothing
   * else: the lease, worker and `startedAt` stay (the worker keeps renewing the lease of a
   * suspended run, so it is not reaped). Returns `applied: false` and changes nothing otherwise;
   * reports a status change only when the status changed.
   */
  _setSuspended(id: number, attempt: number, suspended: boolean, now: number): Promise<{ applied: boolean } & Changes>

  /** Puts running tasks whose lease ended before `now` back to `pending`. */
  _reapExpired(now: number): Promise<Changes>

  /**
   * Kills tasks that are not complete: they end in `killed` with `error`, dependents fail as
   * in `_finish`. Returns which of them were running, so that their workers get the signal.
   */
  _kill(ids: number[], error: string, now: number): Promise<{ running: number[] } & Changes>

  /**
   * Re-queues `error`/`killed` tasks (and `success` ones if `includeSuccess`) under the same
   * id: result, error and failure cleared, `pending`. Their dependents that failed because of
   * them (`failedDependency` in `ids`) go back to waiting, or fail again naming another
   * failed dependency they have.
   */
  _retry(ids: number[], includeSuccess: boolean, now: number): Promise<Changes>

  /** Records by id; unknown ids are absent. With `fields`, only those (and `id`). */
  _fetch(ids: number[], fields: TaskField[] | null): Promise<Map<number, Partial<TaskRecord>>>

  /** One page of records matching `filter`, ascending by id. */
  _search(filter: SearchFilter, limit: number, fields: TaskField[] | null): Promise<SearchPage>

  /** Deletes tasks and their output; returns how many existed. */
  _delete(ids: number[]): Promise<number>

  /** Number of tasks in each state. */
  _counts(): Promise<Partial<Record<TaskStatus, number>>>

  /**
   * Sets progress, usage or reason on a task; unknown ids are ignored. `reason` is stored only
   * while the task is `pending` (it says why it waits; a late one must not stick to a task that
   * ran), and a claim clears it.
   */
  _patch(id: number, fields: PatchFields): Promise<void>

  /** Appends chunks, assigning `seq` and `offset` per stream atomically. */
  _appendOutput(id: number, chunks: OutputInput[]): Promise<OutputChunk[]>

  /** Chunks of these tasks with `seq >= since`, by task then seq. */
  _getOutput(ids: number[], since: number): Promise<OutputChunk[]>

  /** Sends an event to every process on this broker, this one included (it must come back through `deliver`). */
  _publish(event: string, payload: unknown): Promise<void>

  /** Starts receiving events (called once, when the first listener is added). */
  _listen(): Promise<void>
}
