import { randomBytes } from 'node:crypto'
import {
  BaseBroker,
  CallBatcher,
  type BrokerCapabilities,
  type Changes,
  type ClaimRequest,
  type ClaimResult,
  DependencyResolutionError,
  dependencyFailedText,
  type LeaseRef,
  type NewTask,
  newRecord,
  type Outcome,
  type OutputChunk,
  type OutputInput,
  type PatchFields,
  parseRecord,
  type SearchFilter,
  type SearchPage,
  TASK_STATUSES,
  type TaskField,
  type TaskRecord,
  type TaskStatus,
} from '@aque/core'
import { Ticker } from './ticker.js'
import { Connection } from './connection.js'
import { decodeChunk } from './output.js'
import { hashFieldsFor, newTaskDependencies, newTaskFields, recordFromHash, recordFromPairs, recordFromValues, storeValue } from './record-codec.js'
import { type CommandName, runScript } from './scripts.js'
import { formatRedisUrl, parseRedisUrl, type RedisLocation } from './url.js'

/** Candidates a claim looks at, at most, when the worker refuses some (the contract asks for 64 or more). */
const CLAIM_WINDOW = 256
/** Candidates fetched per round trip when the worker may refuse some. */
const MIN_PAGE = 16
/** Claims made by looking first (two round trips) after a worker refused a task claimed at once. */
const CAREFUL_CLAIMS = 20

type Arg = string | number | Buffer
type ClaimRow = [number, number, string | null]

/**
 * The Redis broker (`redis://`, `rediss://`): a hash per task, readiness by dependency counters,
 * a ready set in dispatch order, delayed and lease sets by time, one Lua script per atomic
 * operation (src/commands), events through pub/sub on a dedicated connection. Every key starts
 * with `<prefix>:`.
 */
export class RedisBroker extends BaseBroker {
  readonly scheme: string
  readonly capabilities: BrokerCapabilities = { localFunctions: false, shared: true, trustedRecords: false }
  readonly location: RedisLocation
  private readonly main: Connection
  private subscriber: Connection | null = null
  private subscribing: Promise<void> | null = null
  private carefulClaims = 0
  /** While the worker looks at tasks claimed by count: the reasons it gives for refusing them. */
  private refusals: Map<number, string | null> | null = null
  /** The rows of that claim (a reason is kept for the hand-back only for one of them). */
  private claimRows: ClaimRow[] | null = null
  private readonly keys: string[]
  private readonly prefix: string
  private readonly channel: string
  /** This instance's id in the events of the scripts whose events it delivers itself (see setOrigin in base.lua). */
  private readonly origin = randomBytes(8).toString('hex')
  private readonly ticker = new Ticker((run) => this.main.batch(run))
  /**
   * The finishes made in one run of code (the runs a worker started together end in the same
   * microtask checkpoint) go in one script run, sent once that code is done: a microtask, not
   * the end of the turn (Ticker), which cost a lone task's round trip 15–25 µs and gained the
   * drain nothing (measured: bench/profiles/README.md).
   */
  private readonly finishes = new CallBatcher<{ now: number; group: Arg[] }, number[]>(
    (items) => {
      const args: Arg[] = [items[0]?.now ?? Date.now(), this.origin, this.subscribedFlag]
      for (const { group } of items) for (const value of group) args.push(value)
      return this.run<number[][]>('finish-1', args)
    },
    { defer: (flush) => queueMicrotask(flush), maxSize: 256 },
  )

  constructor(url: URL | string) {
    super()
    this.location = parseRedisUrl(url)
    this.scheme = this.location.tls ? 'rediss' : 'redis'
    this.prefix = `${this.location.prefix}:`
    this.keys = [this.prefix]
    this.channel = `${this.prefix}events`
    this.main = new Connection(this.location, this.displayUrl(), 'aque')
  }

  toUrl(options: { hidePassword?: boolean } = {}): string {
    return formatRedisUrl(this.location, options)
  }

  /** The scripts publish the status changes and new work they make, in the same atomic step. */
  protected override publishChanges(): undefined {
    return undefined
  }

  /** Runs a script; sent at once (in the current tick) once connected. */
  private run<T>(name: CommandName, args: Arg[]): Promise<T> {
    if (!this.main.isReady) return this.main.ready().then(() => runScript<T>(this.main.client, name, this.keys, args))
    try {
      return runScript<T>(this.main.client, name, this.keys, args)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Runs a script with the deferred work of this tick when there is some (a worker claiming
   * while its finishes wait to be sent): one write and one reply for both. `always`: defers it
   * even when nothing waits, for what is sent next in this turn to join it.
   */
  private runWithPending<T>(name: CommandName, args: Arg[], always = false): Promise<T> {
    if (!this.ticker.pending && !always) return this.run<T>(name, args)
    return new Promise<T>((resolve, reject) => {
      this.ticker.defer(() => {
        this.run<T>(name, args).then(resolve, reject)
      })
    })
  }

  /** "1" once this instance hears the channel: its scripts then publish only if others listen too. */
  private get subscribedFlag(): string {
    // Only while the subscriber connection is up: while it reconnects, PUBSUB NUMSUB counts the
    // others alone, and one other listener must not be taken for this instance.
    return this.isListening && this.subscriber?.client.status === 'ready' ? '1' : '0'
  }

  private get redis() {
    return this.main.client
  }

  // ---- lifecycle ---------------------------------------------------------------------------
  async _init(): Promise<void> {
    // Nothing to create: keys appear on first use. Connecting here reports a bad URL early.
    await this.main.ready()
  }

  async _destroy(): Promise<void> {
    await this.main.ready()
    const pattern = `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
    let cursor = '0'
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await this.redis.unlink(...keys)
    } while (cursor !== '0')
  }

  async _close(): Promise<void> {
    await Promise.all([this.main.close(), this.subscriber?.close()])
  }

  // ---- events --------------------------------------------------------------------------------
  /**
   * Delivers the event to this process at once, and publishes it (with this instance's origin,
   * so that its copy is skipped here) unless nobody else listens.
   */
  async _publish(event: string, payload: unknown): Promise<void> {
    this.deliver(event, payload)
    await this.run<number>('publish-1', [this.subscribedFlag, JSON.stringify({ event, payload, o: this.origin })])
  }

  _listen(): Promise<void> {
    this.subscribing ??= (async () => {
      const sub = new Connection(this.location, this.displayUrl(), 'aque-events')
      this.subscriber = sub
      sub.client.on('message', (channel: string, message: string) => {
        if (channel !== this.channel) return
        let parsed: { event?: unknown; payload?: unknown }
        try {
          parsed = JSON.parse(message)
        } catch {
          return // not one of ours: someone else published on the channel
        }
        if (typeof parsed.event !== 'string') return
        // Our own submits' and finishes' events: delivered here already, from the replies.
        if ((parsed as { o?: unknown }).o === this.origin) return
        this.deliver(parsed.event, parsed.payload)
      })
      try {
        await sub.ready()
        await sub.client.subscribe(this.channel)
      } catch (err) {
        this.subscribing = null
        this.subscriber = null
        await sub.close()
        throw err
      }
    })()
    return this.subscribing
  }

  // ---- scheduling ----------------------------------------------------------------------------
  async _submit(batch: NewTask[], now: number): Promise<{ ids: number[] } & Changes> {
    const args = this.submitArgs(batch, now)
    // Sent at the end of this turn of the event loop. Workers of this process are woken now,
    // not when the event comes back: their claim joins the submit in the same write (Redis runs
    // them in that order), so a task submitted next to an idle worker is claimed within the
    // submit's round trip.
    const reply = this.runWithPending<number[]>('submit-1', args, true)
    if (batch.some((t) => t.dependencies.length === 0)) this.deliver('new_work', {})
    const [first, ...failed] = await reply
    if (first === 0) throw new DependencyResolutionError(`dependency ${failed[0]} does not exist`)
    const ids = batch.map((_, i) => (first as number) + i)
    const changes: Changes = {
      changes: [
        { status: 'pending', ids },
        { status: 'error', ids: failed },
      ],
      newWork: false, // delivered as the submit was sent
    }
    this.deliverChanges(changes)
    return { ids, ...changes }
  }

  /**
   * A lone task an idle worker of this process waits for (BaseBroker.offerSlots): submit-1
   * stores it running for that worker when nothing is ready or due before it, else queues it
   * as `_submit` does. One script instead of a submit and a claim.
   */
  protected override _submitClaimed(task: NewTask, now: number, claim: { worker: string; leaseMs: number }): Promise<{ id: number; claimed: TaskRecord | null; built: true } & Changes> {
    const args = this.submitArgs([task], now)
    args.push(claim.worker, claim.leaseMs)
    // Chained, not async: one promise less on a lone task's round trip.
    return this.run<[number, ...(number | string)[]]>('submit-1', args).then((reply) => this.submittedClaimed(task, now, claim, reply))
  }

  private submittedClaimed(task: NewTask, now: number, claim: { worker: string; leaseMs: number }, reply: (number | string)[]): { id: number; claimed: TaskRecord | null; built: true } & Changes {
    const id = reply[0] as number
    const mark = reply[1]
    // Stored as sent, with the claim's fields: the record is built here rather than read back.
    let claimed: TaskRecord | null = null
    if (mark === 'claimed') {
      claimed = newRecord(task.spec, id, [], now)
      claimed.status = 'running'
      claimed.attempt = 1
      claimed.worker = claim.worker
      claimed.startedAt = now
      claimed.leaseUntil = now + claim.leaseMs
    }
    const changes: Changes = {
      changes: claimed ? [{ status: 'pending', ids: [id] }, { status: 'running', ids: [id] }] : [{ status: 'pending', ids: [id] }],
      newWork: false,
    }
    this.deliverChanges(changes)
    if (!claimed) this.deliver('new_work', {})
    return { id, claimed, built: true, changes: changes.changes, newWork: changes.newWork }
  }

  /** ARGV of submit-1 for a batch (see its header). */
  private submitArgs(batch: NewTask[], now: number): Arg[] {
    const args: Arg[] = [now, batch.length, this.origin, this.subscribedFlag]
    for (const task of batch) args.push(...newTaskFields(task), newTaskDependencies(task))
    return args
  }

  async _claim(request: ClaimRequest): Promise<ClaimResult & Changes> {
    const { now, accept, limit } = request
    // The scripts publish the claims (and the hand-backs) to the other processes; this one
    // hears of the tasks its worker keeps now.
    const claimed = (tasks: TaskRecord[], nextRunAt: number | null) => {
      const result = { tasks, nextRunAt, changes: [{ status: 'running' as const, ids: tasks.map((t) => t.id) }], newWork: false }
      this.deliverChanges(result)
      return result
    }
    if (this.carefulClaims > 0) {
      this.carefulClaims--
      return claimed(...(await this.claimCarefully(request, new Map(), 0)))
    }
    // One round trip: claim the top of the ready set, then hand back at once what the worker
    // refuses (rare: only tasks that do not fit it). Refusals switch to careful claims for a while.
    const [next, ...rows] = await this.runWithPending<[number, ...ClaimRow[]]>('claim-1', [now, request.leaseMs, request.worker, limit, this.origin, this.subscribedFlag])
    if (rows.length === 0) return claimed([], next < 0 ? null : next)
    const kept = new Map<number, TaskRecord>()
    const refused: Arg[] = []
    // A reason the worker stores while looking (setReason from `accept`) goes with the hand-back.
    const refusals = new Map<number, string | null>()
    this.refusals = refusals
    this.claimRows = rows
    try {
      for (const [id, attempt, hash] of rows) {
        const before = recordFromPairs(hash === null ? [] : hash.split('\0')) as TaskRecord
        if (!accept || this.accepts(accept, before)) {
          kept.set(id, this.asClaimed(before, attempt, request))
        } else {
          refused.push(id, attempt, before.startedAt ?? '', storeValue('reason', before.reason) ?? '', storeValue('reason', refusals.get(id) || null) ?? '')
        }
      }
    } finally {
      this.refusals = null
      this.claimRows = null
    }
    const refusedCount = refused.length / 5
    if (refused.length > 0) {
      this.carefulClaims = CAREFUL_CLAIMS
      await this.run<number>('release-1', [now, request.worker, this.origin, this.subscribedFlag, ...refused])
    }
    if (refused.length > 0 && accept && kept.size < limit) {
      const [tasks] = await this.claimCarefully(request, new Map(), refusedCount)
      return claimed([...kept.values(), ...tasks], null)
    }
    return claimed([...kept.values()], null)
  }

  /** The record of a claimed task: what it was, with the claim's fields. */
  private asClaimed(record: TaskRecord, attempt: number, request: ClaimRequest): TaskRecord {
    return Object.assign(record, { status: 'running', attempt, worker: request.worker, startedAt: request.now, leaseUntil: request.now + request.leaseMs, reason: null })
  }

  /**
   * Claims by looking first: pages of the top of the ready set (from `offset`) are shown to the
   * worker's `accept`, then the accepted ones are claimed at once (each only if still ready).
   */
  private async claimCarefully(request: ClaimRequest, chosen: Map<number, TaskRecord>, offset: number): Promise<[TaskRecord[], number | null]> {
    const { now, accept, limit } = request
    let looked = offset
    let nextRunAt: number | null = null
    while (chosen.size < limit && looked < CLAIM_WINDOW) {
      const count = Math.min(CLAIM_WINDOW - looked, Math.max(limit - chosen.size, MIN_PAGE))
      const [next, ...rows] = await this.run<[number, ...[number, string[]][]]>('peek-1', [now, looked, count, '1'])
      if (looked === offset && rows.length === 0 && next >= 0) nextRunAt = next
      for (const [id, pairs] of rows) {
        if (chosen.size >= limit) break
        const record = recordFromPairs(pairs) as TaskRecord
        if (!accept || this.accepts(accept, record)) chosen.set(id, record)
      }
      looked += rows.length
      if (rows.length < count) break
    }
    if (chosen.size === 0) return [[], nextRunAt]
    const rows = await this.run<[number, ...ClaimRow[]]>('claim-1', [now, request.leaseMs, request.worker, 0, this.origin, this.subscribedFlag, ...chosen.keys()])
    const tasks: TaskRecord[] = []
    for (const [id, attempt] of rows.slice(1) as ClaimRow[]) {
      const record = chosen.get(id)
      if (record) tasks.push(this.asClaimed(record, attempt, request))
    }
    return [tasks, null]
  }

  /**
   * Whether the worker takes a candidate. One that cannot be read back is taken anyway, so that
   * core reports it on that task (failing it) instead of leaving it in the ready set forever.
   */
  private accepts(accept: (task: TaskRecord) => boolean, record: TaskRecord): boolean {
    let ok: boolean
    try {
      ok = accept(record)
    } catch {
      ok = false
    }
    return ok || 'problem' in parseRecord(record)
  }

  async _heartbeat(_worker: string, leases: LeaseRef[], leaseMs: number, now: number): Promise<number[]> {
    const args: Arg[] = [now, leaseMs]
    for (const { id, attempt } of leases) args.push(id, attempt)
    return this.run<number[]>('heartbeat-1', args)
  }

  _finish(id: number, attempt: number | null, outcome: Outcome, now: number): Promise<{ applied: boolean } & Changes> {
    const text = outcome.status === 'success' ? outcome.result : outcome.error
    const retryAt = outcome.status === 'error' && outcome.retryAt != null ? outcome.retryAt : ''
    // Finishes of one tick share a script call (and the clock of the first of them). Not
    // async: a layer of promises less for every task.
    return this.finishes.add({ now, group: [id, attempt ?? '', outcome.status, text, retryAt] }).then((reply) => {
      // Read by index: this runs once per task, often before V8 has optimised it, when a rest
      // destructuring (an iterator) costs the most.
      if (reply[0] !== 1) return { applied: false, changes: [], newWork: false }
      const newWork = reply[1]
      const failed = reply.length > 2 ? reply.slice(2) : []
      const status: TaskStatus = retryAt === '' ? outcome.status : 'pending'
      const changes: Changes = {
        changes: [status === 'pending' ? { status, ids: [id] } : { status, ids: [id], outcomes: { [id]: text } }],
        newWork: newWork === 1,
      }
      if (failed.length > 0) {
        const dependentError = dependencyFailedText(id, outcome.status)
        changes.changes.push({ status: 'error', ids: failed, outcomes: Object.fromEntries(failed.map((d) => [d, dependentError])) })
      }
      // The script published these to the other processes; this one hears them now, from the reply.
      this.deliverChanges(changes)
      return { applied: true, changes: changes.changes, newWork: changes.newWork }
    })
  }

  async _setSuspended(id: number, attempt: number, suspended: boolean, _now: number): Promise<{ applied: boolean } & Changes> {
    // The script publishes the status change itself (publishChanges is a no-op here).
    const reply = await this.run<number>('set-suspended-1', [id, attempt, suspended ? 1 : 0])
    const changes: Changes['changes'] = reply === 2 ? [{ status: suspended ? 'suspended' : 'running', ids: [id] }] : []
    return { applied: reply > 0, changes, newWork: false }
  }

  async _reapExpired(now: number): Promise<Changes> {
    const back = await this.run<number[]>('reap-1', [now])
    return { changes: [{ status: 'pending', ids: back }], newWork: back.length > 0 }
  }

  async _kill(ids: number[], error: string, now: number): Promise<{ running: number[] } & Changes> {
    const [running, killed, failed] = await this.run<[number[], number[], number[]]>('kill-1', [now, error, ...ids])
    return {
      running,
      changes: [
        { status: 'killed', ids: killed },
        { status: 'error', ids: failed },
      ],
      newWork: false,
    }
  }

  async _retry(ids: number[], includeSuccess: boolean, now: number): Promise<Changes> {
    const [newWork, pending, failed] = await this.run<[number, number[], number[]]>('retry-1', [now, includeSuccess ? '1' : '0', ...ids])
    return {
      changes: [
        { status: 'pending', ids: pending },
        { status: 'error', ids: failed },
      ],
      newWork: newWork === 1,
    }
  }

  // ---- low-level task API -------------------------------------------------------------------
  private taskKey(id: number): string {
    return `${this.prefix}t:${id}`
  }

  async _fetch(ids: number[], fields: TaskField[] | null): Promise<Map<number, Partial<TaskRecord>>> {
    await this.main.ready()
    // A waiter subscribes, then reads: wait for the subscription so no event falls in between.
    if (this.subscribing) await this.subscribing.catch(() => {})
    const out = new Map<number, Partial<TaskRecord>>()
    if (ids.length === 0) return out
    const pipeline = this.redis.pipeline()
    for (const id of ids) {
      if (fields) pipeline.hmget(this.taskKey(id), 'status', ...hashFieldsFor(fields))
      else pipeline.hgetall(this.taskKey(id))
    }
    const replies = (await pipeline.exec()) ?? []
    ids.forEach((id, i) => {
      const [err, value] = replies[i] ?? [new Error('no reply'), null]
      if (err) throw err
      if (fields) {
        const values = value as (string | null)[]
        if (values[0] === null) return // no status: no such task
        out.set(id, recordFromValues(values.slice(1), fields))
      } else {
        const hash = value as Record<string, string>
        if (hash.status === undefined) return
        out.set(id, recordFromHash(hash, null))
      }
    })
    return out
  }

  async _search(filter: SearchFilter, limit: number, fields: TaskField[] | null): Promise<SearchPage> {
    const args: Arg[] = [filter.afterId ?? 0, limit, filter.parent ?? '', filter.user ?? '', filter.user === undefined ? '0' : '1', ...(filter.status ?? [])]
    if (filter.status && filter.status.length === 0) return { records: [], lastId: null }
    const [ids, more] = await this.run<[number[], number]>('search-1', args)
    const found = await this._fetch(ids, fields)
    const records = ids.flatMap((id) => {
      const r = found.get(id)
      return r ? [r] : []
    })
    return { records, lastId: more === 1 && ids.length > 0 ? (ids[ids.length - 1] as number) : null }
  }

  _delete(ids: number[]): Promise<number> {
    return this.run<number>('delete-1', ids)
  }

  async _counts(): Promise<Partial<Record<TaskStatus, number>>> {
    await this.main.ready()
    const pipeline = this.redis.pipeline()
    for (const s of TASK_STATUSES) pipeline.zcard(`${this.prefix}st:${s}`)
    const replies = (await pipeline.exec()) ?? []
    const out: Partial<Record<TaskStatus, number>> = {}
    TASK_STATUSES.forEach((s, i) => {
      const [err, n] = replies[i] ?? [null, 0]
      if (err) throw err
      if (Number(n) > 0) out[s] = Number(n)
    })
    return out
  }

  async _patch(id: number, fields: PatchFields): Promise<void> {
    // The reason a worker gives while refusing a task it claimed by count: stored by the
    // hand-back (release-1), atomically, rather than racing it.
    const keys = Object.keys(fields)
    if (this.refusals && keys.length === 1 && keys[0] === 'reason' && typeof fields.reason === 'string' && fields.reason !== '' && this.claimRows?.some(([claimed]) => claimed === id)) {
      this.refusals.set(id, fields.reason)
      return
    }
    const args: Arg[] = [id]
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue
      const stored = storeValue(field as TaskField, value)
      args.push(field, stored === null ? '0' : '1', stored ?? '')
    }
    if (args.length > 1) await this.run<number>('patch-1', args)
  }

  async _appendOutput(id: number, chunks: OutputInput[]): Promise<OutputChunk[]> {
    const args: Arg[] = [id]
    for (const c of chunks) args.push(c.stream, c.time, Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength))
    const placed = await this.run<[number, number][]>('append-output-1', args)
    return chunks.map((c, i) => {
      const [seq, offset] = placed[i] ?? [0, 0]
      return { id, seq, offset, stream: c.stream, data: new Uint8Array(c.data), time: c.time }
    })
  }

  async _getOutput(ids: number[], since: number): Promise<OutputChunk[]> {
    await this.main.ready()
    const pipeline = this.redis.pipeline()
    for (const id of ids) pipeline.lrangeBuffer(`${this.prefix}o:${id}`, since, -1)
    const replies = (await pipeline.exec()) ?? []
    const out: OutputChunk[] = []
    ids.forEach((id, i) => {
      const [err, items] = replies[i] ?? [null, []]
      if (err) throw err
      ;(items as Buffer[]).forEach((item, j) => {
        out.push(decodeChunk(id, since + j, item))
      })
    })
    return out
  }
}
