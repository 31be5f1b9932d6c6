import {
  BaseBroker,
  type BrokerCapabilities,
  type Changes,
  type ClaimRequest,
  type ClaimResult,
  DependencyResolutionError,
  type LeaseRef,
  type NewTask,
  type Outcome,
  type OutputChunk,
  type OutputInput,
  type PatchFields,
  type SearchFilter,
  type SearchPage,
  type TaskField,
  type TaskRecord,
  newRecord,
  type TaskStatus,
  dependencyFailedText,
} from '@aque/core'
import { Heap } from './heap.js'

/** A stored task and what the broker tracks about it. */
interface Entry {
  record: TaskRecord
  /** Dependencies not yet `success`. The task is ready when this is 0. */
  remaining: number
  /** Ids of the tasks that depend on this one. */
  dependents: number[]
  /** Which queue holds the live copy of this entry, and its token (older heap items are stale). */
  queued: 'ready' | 'delayed' | null
  token: number
}
/** A heap item: the sort keys copied in, so that comparisons do not chase pointers. */
interface Queued {
  entry: Entry
  token: number
  priority: number
  duration: number
  id: number
}

const COMPLETE = new Set<TaskStatus>(['success', 'error', 'killed'])
/** How many refused candidates one claim looks past before giving up. */
const CLAIM_WINDOW = 256

function dispatchOrder(a: Queued, b: Queued): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority
  if (a.duration !== b.duration) return a.duration > b.duration
  return a.id < b.id
}

const instances = new Map<string, MemoryBroker>()
let anonymous = 0

/**
 * The in-process broker (`memory:`): tasks in a Map, readiness by dependency counters, a heap
 * of ready tasks in dispatch order, a heap of delayed ones and one of leases. Nothing is
 * scanned per dispatch. Events go through the process's own hub.
 */
export class MemoryBroker extends BaseBroker {
  readonly scheme = 'memory'
  readonly capabilities: BrokerCapabilities = { localFunctions: true, shared: false, trustedRecords: true }
  readonly name: string
  private readonly tasks = new Map<number, Entry>()
  private readonly readyHeap = new Heap<Queued>(dispatchOrder)
  private readonly delayed = new Heap<Queued>((a, b) => (a.entry.record.runAt ?? 0) < (b.entry.record.runAt ?? 0))
  private readonly leases = new Heap<{ entry: Entry; until: number; attempt: number }>((a, b) => a.until < b.until)
  private readonly output = new Map<number, { chunks: OutputChunk[]; offsets: Map<string, number> }>()
  private readonly statusCounts = new Map<TaskStatus, number>()
  private nextId = 1

  /**
   * @param name Instances are found by name in this process: `getBroker("memory:<name>")`.
   * @default a fresh unique name
   */
  constructor(name?: string) {
    super()
    this.name = name ?? `anonymous-${++anonymous}`
    instances.set(this.name, this)
  }

  /** The instance of that name in this process, created on first use. */
  static named(name: string): MemoryBroker {
    return instances.get(name) ?? new MemoryBroker(name)
  }

  toUrl(): string {
    return `memory:${this.name}`
  }

  async _init(): Promise<void> {}
  async _destroy(): Promise<void> {
    this.tasks.clear()
    this.output.clear()
    this.statusCounts.clear()
  }
  async _close(): Promise<void> {
    instances.delete(this.name)
  }
  async _listen(): Promise<void> {}
  async _publish(event: string, payload: unknown): Promise<void> {
    this.deliver(event, payload)
  }

  // ---- state helpers -----------------------------------------------------------------------
  private move(entry: Entry, status: TaskStatus): void {
    const old = entry.record.status
    this.statusCounts.set(old, (this.statusCounts.get(old) ?? 1) - 1)
    this.statusCounts.set(status, (this.statusCounts.get(status) ?? 0) + 1)
    entry.record.status = status
  }

  private unqueue(entry: Entry): void {
    entry.queued = null
    entry.token++
  }

  /** Puts a pending task whose dependencies all succeeded into the ready or delayed heap. */
  private enqueue(entry: Entry, now: number): void {
    this.unqueue(entry)
    const r = entry.record
    const item: Queued = { entry, token: entry.token, priority: r.priority, duration: r.duration, id: r.id }
    if (entry.record.runAt !== null && entry.record.runAt > now) {
      entry.queued = 'delayed'
      this.delayed.push(item)
    } else {
      entry.queued = 'ready'
      this.readyHeap.push(item)
    }
  }

  /** Fails every not-complete transitive dependent of `root`. Returns the ids failed. */
  private propagateFailure(root: Entry, now: number): number[] {
    const failed: number[] = []
    const text = dependencyFailedText(root.record.id, root.record.status)
    const stack = [root]
    while (stack.length > 0) {
      const entry = stack.pop() as Entry
      for (const id of entry.dependents) {
        const dep = this.tasks.get(id)
        if (!dep || COMPLETE.has(dep.record.status)) continue
        this.complete(dep, 'error', now)
        dep.record.error = text
        dep.record.failedDependency = root.record.id
        failed.push(id)
        stack.push(dep)
      }
    }
    return failed
  }

  private complete(entry: Entry, status: TaskStatus, now: number): void {
    this.unqueue(entry)
    this.move(entry, status)
    entry.record.finishedAt = now
    entry.record.leaseUntil = null
  }

  /** After a success: dependents whose last dependency this was become ready. */
  private release(entry: Entry, now: number): boolean {
    let any = false
    for (const id of entry.dependents) {
      const dep = this.tasks.get(id)
      if (!dep) continue
      dep.remaining--
      if (dep.remaining === 0 && dep.record.status === 'pending') {
        this.enqueue(dep, now)
        any = true
      }
    }
    return any
  }

  // ---- scheduling ----------------------------------------------------------------------------
  async _submit(batch: NewTask[], now: number): Promise<{ ids: number[] } & Changes> {
    for (const item of batch) {
      for (const dep of item.dependencies) {
        if ('id' in dep && !this.tasks.has(dep.id)) throw new DependencyResolutionError(`dependency ${dep.id} does not exist`)
      }
    }
    const ids = batch.map(() => this.nextId++)
    const entries: Entry[] = batch.map((item, i) => {
      const record = newRecord(item.spec, ids[i] as number, item.dependencies.map((d) => ('id' in d ? d.id : (ids[d.index] as number))), now)
      const entry: Entry = { record, remaining: 0, dependents: [], queued: null, token: 0 }
      this.tasks.set(record.id, entry)
      this.statusCounts.set('creating', (this.statusCounts.get('creating') ?? 0) + 1)
      return entry
    })
    // The whole batch becomes pending at once (this runs without yielding, so no one sees half).
    const failed: number[] = []
    let newWork = false
    for (const entry of entries) {
      this.move(entry, 'pending')
      let failedDep: Entry | null = null
      for (const depId of entry.record.dependencies) {
        const dep = this.tasks.get(depId) as Entry
        dep.dependents.push(entry.record.id)
        if (dep.record.status !== 'success') entry.remaining++
        if (!failedDep && (dep.record.status === 'error' || dep.record.status === 'killed')) failedDep = dep
      }
      if (failedDep) {
        this.complete(entry, 'error', now)
        entry.record.error = dependencyFailedText(failedDep.record.id, failedDep.record.status)
        entry.record.failedDependency = failedDep.record.id
        failed.push(entry.record.id)
      } else if (entry.remaining === 0) {
        this.enqueue(entry, now)
        newWork = true
      }
    }
    const changes = [{ status: 'pending' as const, ids }]
    if (failed.length > 0) changes.push({ status: 'error' as never, ids: failed })
    return { ids, changes, newWork }
  }

  async _claim(request: ClaimRequest): Promise<ClaimResult & Changes> {
    const { now } = request
    for (let top = this.delayed.peek(); top && (top.entry.record.runAt ?? 0) <= now; top = this.delayed.peek()) {
      this.delayed.pop()
      if (top.token === top.entry.token && top.entry.queued === 'delayed') this.enqueue(top.entry, now)
    }
    const tasks: TaskRecord[] = []
    const refused: Queued[] = []
    while (tasks.length < request.limit && refused.length < CLAIM_WINDOW) {
      const item = this.readyHeap.pop()
      if (!item) break
      const { entry } = item
      if (item.token !== entry.token || entry.queued !== 'ready') continue
      if (request.accept && !request.accept(entry.record)) {
        refused.push(item)
        continue
      }
      this.unqueue(entry)
      this.move(entry, 'running')
      const r = entry.record
      r.attempt++
      r.worker = request.worker
      r.startedAt = now
      r.leaseUntil = now + request.leaseMs
      r.reason = null
      this.leases.push({ entry, until: r.leaseUntil, attempt: r.attempt })
      // The broker's own record (trustedRecords): read-only for the worker, which keeps the
      // attempt it claimed separately.
      tasks.push(r)
    }
    for (const item of refused) this.readyHeap.push(item)
    let nextRunAt: number | null = null
    if (tasks.length === 0) {
      for (let top = this.delayed.peek(); top; top = this.delayed.peek()) {
        if (top.token === top.entry.token && top.entry.queued === 'delayed') {
          nextRunAt = top.entry.record.runAt
          break
        }
        this.delayed.pop()
      }
    }
    return { tasks, nextRunAt, changes: [{ status: 'running', ids: tasks.map((t) => t.id) }], newWork: false }
  }

  private holds(entry: Entry | undefined, attempt: number | null): entry is Entry {
    if (!entry) return false
    if (attempt === null) return !COMPLETE.has(entry.record.status)
    return (entry.record.status === 'running' || entry.record.status === 'suspended') && entry.record.attempt === attempt
  }

  async _heartbeat(_worker: string, leases: LeaseRef[], leaseMs: number, now: number): Promise<number[]> {
    const lost: number[] = []
    for (const { id, attempt } of leases) {
      const entry = this.tasks.get(id)
      if (!this.holds(entry, attempt)) {
        lost.push(id)
        continue
      }
      entry.record.leaseUntil = now + leaseMs
      this.leases.push({ entry, until: entry.record.leaseUntil, attempt })
    }
    return lost
  }

  async _finish(id: number, attempt: number | null, outcome: Outcome, now: number): Promise<{ applied: boolean } & Changes> {
    const entry = this.tasks.get(id)
    if (!this.holds(entry, attempt)) return { applied: false, changes: [], newWork: false }
    const r = entry.record
    if (outcome.status === 'success') {
      this.complete(entry, 'success', now)
      r.result = outcome.result
      r.error = null
      const newWork = this.release(entry, now)
      return { applied: true, changes: [{ status: 'success', ids: [id], outcomes: { [id]: outcome.result } }], newWork }
    }
    r.error = outcome.error
    if (outcome.status === 'error' && outcome.retryAt != null) {
      this.unqueue(entry)
      this.move(entry, 'pending')
      r.retryCount++
      r.runAt = outcome.retryAt
      r.leaseUntil = null
      r.worker = null
      this.enqueue(entry, now)
      return { applied: true, changes: [{ status: 'pending', ids: [id] }], newWork: true }
    }
    this.complete(entry, outcome.status, now)
    const failed = this.propagateFailure(entry, now)
    return { applied: true, changes: [{ status: outcome.status, ids: [id], outcomes: { [id]: outcome.error } }, { status: 'error', ids: failed }], newWork: false }
  }

  async _setSuspended(id: number, attempt: number, suspended: boolean, _now: number): Promise<{ applied: boolean } & Changes> {
    const entry = this.tasks.get(id)
    if (!this.holds(entry, attempt)) return { applied: false, changes: [], newWork: false }
    const status: TaskStatus = suspended ? 'suspended' : 'running'
    if (entry.record.status === status) return { applied: true, changes: [], newWork: false }
    this.move(entry, status)
    return { applied: true, changes: [{ status, ids: [id] }], newWork: false }
  }

  async _reapExpired(now: number): Promise<Changes> {
    const back: number[] = []
    for (let top = this.leases.peek(); top && top.until <= now; top = this.leases.peek()) {
      this.leases.pop()
      const r = top.entry.record
      // Stale items (renewed, finished, or re-claimed) are skipped: only the current lease counts.
      if ((r.status !== 'running' && r.status !== 'suspended') || r.attempt !== top.attempt || (r.leaseUntil ?? 0) > now) continue
      this.move(top.entry, 'pending')
      r.worker = null
      r.leaseUntil = null
      this.enqueue(top.entry, now)
      back.push(r.id)
    }
    return { changes: [{ status: 'pending', ids: back }], newWork: back.length > 0 }
  }

  async _kill(ids: number[], error: string, now: number): Promise<{ running: number[] } & Changes> {
    const killed: number[] = []
    const running: number[] = []
    const failed: number[] = []
    for (const id of ids) {
      const entry = this.tasks.get(id)
      if (!entry || COMPLETE.has(entry.record.status)) continue
      if (entry.record.status === 'running' || entry.record.status === 'suspended') running.push(id)
      this.complete(entry, 'killed', now)
      entry.record.error = error
      killed.push(id)
      failed.push(...this.propagateFailure(entry, now))
    }
    return { running, changes: [{ status: 'killed', ids: killed }, { status: 'error', ids: failed }], newWork: false }
  }

  /** Back to pending: counts its unfinished dependencies again, or fails on a failed one. */
  private reset(entry: Entry, now: number, failedOut: number[]): boolean {
    const r = entry.record
    const wasSuccess = r.status === 'success'
    this.move(entry, 'pending')
    Object.assign(r, { result: null, error: null, failedDependency: null, finishedAt: null, startedAt: null, worker: null, leaseUntil: null, runAt: null, retryCount: 0, progress: null })
    if (wasSuccess) {
      // Dependents still waiting counted this one as done: it is not any more.
      for (const id of entry.dependents) {
        const d = this.tasks.get(id)
        if (d && !COMPLETE.has(d.record.status)) {
          d.remaining++
          if (d.queued) this.unqueue(d)
        }
      }
    }
    entry.remaining = 0
    for (const depId of r.dependencies) {
      const dep = this.tasks.get(depId)
      if (!dep) continue
      if (dep.record.status === 'error' || dep.record.status === 'killed') {
        this.complete(entry, 'error', now)
        r.error = dependencyFailedText(dep.record.id, dep.record.status)
        r.failedDependency = dep.record.id
        failedOut.push(r.id, ...this.propagateFailure(entry, now))
        return false
      }
      if (dep.record.status !== 'success') entry.remaining++
    }
    if (entry.remaining === 0) this.enqueue(entry, now)
    return entry.remaining === 0
  }

  async _retry(ids: number[], includeSuccess: boolean, now: number): Promise<Changes> {
    const pending: number[] = []
    const failed: number[] = []
    let newWork = false
    const roots = new Set<number>()
    for (const id of ids) {
      const entry = this.tasks.get(id)
      if (!entry) continue
      const s = entry.record.status
      if (!(s === 'error' || s === 'killed' || (includeSuccess && s === 'success'))) continue
      roots.add(id)
      newWork = this.reset(entry, now, failed) || newWork
      pending.push(id)
    }
    // Dependents that failed because of a retried task wait again (they name it as the cause).
    const stack = [...roots]
    while (stack.length > 0) {
      const entry = this.tasks.get(stack.pop() as number)
      if (!entry) continue
      for (const id of entry.dependents) {
        const d = this.tasks.get(id)
        if (d?.record.status !== 'error' || d.record.failedDependency === null || !roots.has(d.record.failedDependency)) continue
        newWork = this.reset(d, now, failed) || newWork
        pending.push(id)
        stack.push(id)
      }
    }
    return { changes: [{ status: 'pending', ids: pending }, { status: 'error', ids: failed }], newWork }
  }

  // ---- low-level task API -------------------------------------------------------------------
  private pick(record: TaskRecord, fields: TaskField[] | null): Partial<TaskRecord> {
    if (!fields) return { ...record, dependencies: [...record.dependencies] }
    const out: Partial<TaskRecord> = {}
    for (const f of fields) (out as Record<string, unknown>)[f] = record[f]
    return out
  }

  async _fetch(ids: number[], fields: TaskField[] | null): Promise<Map<number, Partial<TaskRecord>>> {
    const out = new Map<number, Partial<TaskRecord>>()
    for (const id of ids) {
      const entry = this.tasks.get(id)
      if (entry) out.set(id, this.pick(entry.record, fields))
    }
    return out
  }

  async _search(filter: SearchFilter, limit: number, fields: TaskField[] | null): Promise<SearchPage> {
    const records: Partial<TaskRecord>[] = []
    const statuses = filter.status ? new Set(filter.status) : null
    let lastId: number | null = null
    for (const [id, { record }] of this.tasks) {
      if (filter.afterId !== undefined && id <= filter.afterId) continue
      if (statuses && !statuses.has(record.status)) continue
      if (filter.parent !== undefined && record.parent !== filter.parent) continue
      if (filter.user !== undefined && record.user !== filter.user) continue
      if (records.length >= limit) return { records, lastId }
      records.push(this.pick(record, fields))
      lastId = id
    }
    return { records, lastId: null }
  }

  async _delete(ids: number[]): Promise<number> {
    let n = 0
    for (const id of ids) {
      const entry = this.tasks.get(id)
      if (!entry) continue
      this.unqueue(entry)
      this.statusCounts.set(entry.record.status, (this.statusCounts.get(entry.record.status) ?? 1) - 1)
      this.tasks.delete(id)
      this.output.delete(id)
      n++
    }
    return n
  }

  async _counts(): Promise<Partial<Record<TaskStatus, number>>> {
    return Object.fromEntries(this.statusCounts)
  }

  async _patch(id: number, fields: PatchFields): Promise<void> {
    const entry = this.tasks.get(id)
    if (!entry) return
    const r = entry.record
    if (fields.progress !== undefined) r.progress = fields.progress
    if (fields.usage !== undefined) r.usage = fields.usage
    // A reason explains why a task waits: it is not stored on one that runs or ran already.
    if (fields.reason !== undefined && r.status === 'pending') r.reason = fields.reason
  }

  async _appendOutput(id: number, chunks: OutputInput[]): Promise<OutputChunk[]> {
    let store = this.output.get(id)
    if (!store) {
      store = { chunks: [], offsets: new Map() }
      this.output.set(id, store)
    }
    return chunks.map((c) => {
      const offset = store.offsets.get(c.stream) ?? 0
      store.offsets.set(c.stream, offset + c.data.byteLength)
      const chunk: OutputChunk = { id, seq: store.chunks.length, stream: c.stream, offset, data: new Uint8Array(c.data), time: c.time }
      store.chunks.push(chunk)
      return chunk
    })
  }

  async _getOutput(ids: number[], since: number): Promise<OutputChunk[]> {
    const out: OutputChunk[] = []
    for (const id of ids) {
      const store = this.output.get(id)
      if (store) out.push(...store.chunks.slice(since))
    }
    return out
  }
}
