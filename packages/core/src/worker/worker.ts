import { hostname } from 'node:os'
import { pathToFileURL } from 'node:url'
import { resolve as resolvePath } from 'node:path'
import type { BaseBroker } from '../broker/base-broker.js'
import type { Outcome } from '../broker/contract.js'
import type { SignalEvent } from '../broker/events.js'
import { decode, encode } from '../codec/codec.js'
import { LeaseLostError, PatternMissingError, TaskKilledError, ValidationError } from '../errors/classes.js'
import { registerBuiltinPatterns } from '../patterns/builtin.js'
import { lookupPattern } from '../patterns/pattern.js'
import { parseBytes } from '../task/bytes.js'
import type { TaskRecord } from '../task/record.js'
import { ClaimAhead } from './claim-ahead.js'
import { RunContext, type RunOwner } from './run-context.js'
import { checkExpectations } from './expectations.js'
import { detectHostIdentity } from './host-identity.js'
import { type WorkerIdentity, currentUser, refusal } from './requirements.js'
import { type Capacity, cpusNeeded, detectCapacity, memoryNeeded } from './resources.js'
import { LocalFirst } from './local-first.js'
import { type PausableRun, Preemption } from './preemption.js'
import { ProcessPool } from './process-pool.js'
import { UsageSampler } from './usage-sampler.js'
import { taskStorage } from './task-context.js'

registerBuiltinPatterns()

export interface WorkerOptions {
  /** Unique id stored on the tasks it runs. @default "<hostname>/<pid>/<n>" */
  id?: string
  /** Most tasks run at once. @default 32 */
  concurrency?: number
  /**
   * Tasks claimed ahead of free slots while the tasks run are short (under 10 ms on average)
   * and reserve no CPU or memory: the broker prepares the next batch while this one runs.
   * A task that waits longer than `prefetchWaitMs` for a slot goes back to `pending`. 0: off.
   * Larger batches spread the cost of a claim over more tasks (Redis, 30,000 no-op tasks,
   * concurrency 32: 25k tasks/s with 32, 28k with 96, 33k with 224; PostgreSQL, 10,000:
   * ~12% faster with 1,024 than with 256, as a claim and the finishes riding in it cost the
   * server less per task in bigger statements). Short runs bound the wait: 1,024 tasks of
   * under 10 ms on 32 slots are all started within ~0.3 s.
   * @default 32 × concurrency
   */
  prefetch?: number
  /** Longest a task claimed ahead waits for a slot before it is handed back, ms. @default 1000 */
  prefetchWaitMs?: number
  /** CPUs it offers to tasks. @default the machine's */
  cpus?: number
  /** Memory it offers, bytes or a size like "8GB". @default the machine's */
  memory?: number | string
  /** @default os.hostname() */
  hostname?: string
  /** Length of a claim's lease, ms. @default 30000 */
  leaseMs?: number
  /** Period of lease renewal, ms. @default leaseMs / 3 */
  heartbeatMs?: number
  /** Modules imported before the first task (they define tasks and patterns). */
  imports?: string[]
  /** Back-up look for work when no event came, ms. @default 5000 */
  pollMs?: number
  /** Period of CPU and memory sampling of shell tasks' processes, ms. @default 5000 */
  usageMs?: number
  /**
   * A task that does not fit in what is left suspends running tasks of lower priority to make
   * room: shell tasks get SIGSTOP (SIGCONT when they resume), function tasks are suspended at
   * their next `currentTask().yield()`. Suspended tasks resume, highest priority first, once
   * their CPUs and memory fit again (see preemption.ts).
   * @default false
   */
  preempt?: boolean
  /**
   * At equal priority, tasks whose `ioPaths` all sit on local disks go before those with a path
   * on a network mount (NFS, SMB, sshfs…, from /proc/self/mountinfo; see local-first.ts).
   * @default false
   */
  localFirst?: boolean
  /**
   * Told of broker errors the worker rides out (it backs off and tries again, up to 5 s apart).
   * @default process.emitWarning
   */
  onError?: (err: unknown) => void
}

/** A claimed task being run. */
interface Run {
  record: TaskRecord
  /** The attempt claimed: the fencing token of this run (the record may change under it). */
  attempt: number
  cpus: number
  memory: number
  /** Made on first use: most tasks never look at their signal. */
  abort: AbortController | null
  /** Rejects the wait for the task's code when it is killed. */
  onKill: ((err: Error) => void) | null
  pid: number | null
  sampler: UsageSampler | null
  /** Signal that killed it, if one did. */
  killedBy: string | null
  lost: boolean
  /** Its code has ended and its outcome is being recorded: its slot and resources are free. */
  ending: boolean
  /** When its code started (performance.now()). */
  startedMs: number
  /** Whether its CPUs and memory are counted as used (not while it is suspended). */
  reserved: boolean
  /** Set while it is suspended (see preemption.ts). */
  pause: PausableRun['pause']
  /** Priority of the work it was asked to yield to, or null. */
  yieldFor: number | null
}

let workerCount = 0
const TERMINATING = new Set(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGABRT'])
const noop = (): void => {}

/** Claims tasks from a broker and runs them. */
export class Worker {
  readonly id: string
  readonly capacity: Capacity
  readonly hostname: string
  private readonly concurrency: number
  private readonly leaseMs: number
  private readonly heartbeatMs: number
  private readonly pollMs: number
  private readonly imports: string[]
  private readonly usageMs: number
  private readonly onError: (err: unknown) => void
  /** Broker errors in a row: the backoff grows with them. */
  private failures = 0
  private readonly identity: WorkerIdentity
  /** Tasks whose refusal reason this worker has stored already. */
  private readonly noted = new Set<number>()
  /**
   * Refusal reasons found during the claim in flight, stored once it returned: a broker that
   * hands refused candidates back restores their fields, which would undo a reason stored
   * meanwhile (and `noted` keeps it from being stored again).
   */
  private readonly reasons: Array<[number, string]> = []
  private readonly running = new Map<number, Run>()
  /** Runs in `running` whose code has ended (outcome being recorded): they hold no slot. */
  private ending = 0
  private usedCpus = 0
  private usedMemory = 0
  /** Of the claim in flight: reservations and count of the candidates accepted, free slots, and the size of the last candidate looked at (lastCpus < 0: none). */
  private readonly claiming = { cpus: 0, memory: 0, count: 0, slots: 0, lastCpus: -1, lastMemory: 0 }
  /** Tasks claimed ahead of free slots (see `prefetch`). */
  private readonly ahead: ClaimAhead
  /** Tasks started by the loop running now. */
  private started = 0
  private signalled = false
  /** New-work events heard: one heard while a claim was out may be work that claim missed. */
  private workSeq = 0
  /**
   * Whether the ready set may hold work for this worker: its last claim was full or refused
   * some, or new work was announced since, or a wait timed out (the safety poll). Running
   * forever, a freed slot claims only then: no empty claim after every task when idle.
   */
  private mayHaveWork = true
  /**
   * Most tasks the next claim asks for (or its free slots, if more): four times what the last
   * claim got if it got all it asked for; 0 if it did not, and the next claim with free slots
   * asks for those only (one without asks for its room to claim ahead). The first claim of a burst of
   * work then comes back as soon as the broker has the tasks that start at once, instead of
   * after it claimed a thousand while this worker waited; the next claims, made while those
   * run, grow fourfold until they fill the room for claiming ahead.
   */
  private claimGrowth = 0
  /** A candidate of the claim in flight was refused (it stays ready for later). */
  private refusedAny = false
  /**
   * CPUs and memory of the last candidate a claim looked at, when it reserves some: the next
   * claims ask for no more tasks than such ones fit in what is free, so that a worker of 2
   * CPUs running shell tasks does not claim 32 to hand 30 back (a broker then looks through
   * the rest one by one). Null when the last one reserved nothing (function tasks: no cap).
   */
  private roomNeed: { cpus: number; memory: number } | null = null
  private wakeUp: (() => void) | null = null
  private wakePending = false
  private mode: 'one' | 'end' | 'forever' = 'end'
  private stopping = false
  private active = false
  private imported: Promise<void> | null = null
  private pool: ProcessPool | null = null
  /** With the `preempt` option: suspends and resumes runs to make room for more urgent ones. */
  private readonly preemption: Preemption | null
  /** With the `localFirst` option: claims local-disk tasks before network ones at equal priority. */
  private readonly localFirst: LocalFirst | null

  constructor(
    readonly broker: BaseBroker,
    options: WorkerOptions = {},
  ) {
    const detected = detectCapacity()
    this.hostname = options.hostname ?? hostname()
    this.id = options.id ?? `${this.hostname}/${process.pid}/${++workerCount}`
    // Stored on the tasks it runs; control characters would corrupt listings and stored records.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the check is for them
    if (this.id === '' || /[\u0000-\u001f]/.test(this.id)) throw new ValidationError(`id: expected a name without control characters, got ${JSON.stringify(this.id)}`)
    this.concurrency = positive(options.concurrency ?? 32, 'concurrency')
    const prefetch = options.prefetch ?? 32 * this.concurrency
    if (!Number.isSafeInteger(prefetch) || prefetch < 0) throw new ValidationError(`prefetch: expected a whole number ≥ 0, got ${String(prefetch)}`)
    this.ahead = new ClaimAhead(prefetch, positive(options.prefetchWaitMs ?? 1000, 'prefetchWaitMs'))
    this.capacity = {
      cpus: positive(options.cpus ?? detected.cpus, 'cpus'),
      memory: options.memory === undefined ? detected.memory : parseBytes(options.memory),
    }
    this.leaseMs = positive(options.leaseMs ?? 30_000, 'leaseMs')
    this.heartbeatMs = positive(options.heartbeatMs ?? Math.max(10, Math.floor(this.leaseMs / 3)), 'heartbeatMs')
    this.pollMs = positive(options.pollMs ?? 5000, 'pollMs')
    this.imports = options.imports ?? []
    this.usageMs = positive(options.usageMs ?? 5000, 'usageMs')
    this.onError = options.onError ?? ((err) => process.emitWarning(`aque worker ${this.id}: ${(err as Error).message ?? String(err)}`))
    const me = currentUser()
    this.identity = { host: detectHostIdentity(this.hostname), platform: process.platform, user: me.user, isRoot: me.isRoot, capacity: this.capacity }
    this.preemption = options.preempt
      ? new Preemption({
          broker: this.broker,
          capacity: this.capacity,
          runs: () => this.running.values(),
          used: () => ({ cpus: this.usedCpus + this.claiming.cpus, memory: this.usedMemory + this.claiming.memory }),
          reserve: (run) => this.reserve(run),
          release: (run) => this.release(run),
          wake: this.wake,
          onError: this.onError,
        })
      : null
    this.localFirst = options.localFirst ? new LocalFirst() : null
  }

  /** Runs one ready task, if there is one. Resolves true if it ran one. */
  async runOne(): Promise<boolean> {
    return (await this.loop('one')) > 0
  }

  /** Runs tasks until nothing it can run is left (delayed tasks are waited for). Resolves with the count run. */
  runToEnd(): Promise<number> {
    return this.loop('end')
  }

  /** Runs tasks until `stop()`. */
  async runForever(): Promise<void> {
    await this.loop('forever')
  }

  /**
   * Stops taking work; resolves when the running tasks have finished. With `graceMs`, tasks
   * still running after that long are killed (their process groups get SIGTERM, then SIGKILL)
   * and handed back to `pending` for another worker, so none is left running orphaned or marked
   * running forever.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    this.stopping = true
    this.wake()
    const deadline = options.graceMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.graceMs
    while ((this.active || this.running.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    if (this.running.size === 0) return
    const runs = [...this.running.values()]
    for (const run of runs) {
      run.lost = true
      this.signal(run, 'SIGTERM')
    }
    await new Promise((r) => setTimeout(r, 200))
    for (const run of runs) if (run.pid !== null) this.signal(run, 'SIGKILL')
    await this.broker.handBack(
      this.id,
      runs.map((r) => ({ id: r.record.id, attempt: r.attempt })),
    )
  }

  /** Process (group) id of a running shell task, or null. */
  pidOf(id: number): number | null {
    return this.running.get(id)?.pid ?? null
  }

  /** Ids of the tasks running now. */
  get runningIds(): number[] {
    return [...this.running.keys()]
  }

  private wake = (): void => {
    this.signalled = true
    const w = this.wakeUp
    this.wakeUp = null
    w?.()
  }

  /**
   * Signals for the tasks of this worker, all through one listener: a running task's process
   * gets it; a task killed while it waits claimed ahead is dropped (the broker has it killed).
   */
  private onSignal = (payload: unknown): void => {
    const { id, signal } = payload as SignalEvent
    const run = this.running.get(id)
    if (run) this.signal(run, signal)
    else if (TERMINATING.has(signal)) this.ahead.remove(id)
  }

  private onNewWork = (): void => {
    this.workSeq++
    this.mayHaveWork = true
    this.wake()
  }

  private waitForWake(ms: number): Promise<void> {
    if (this.signalled) {
      this.signalled = false
      return Promise.resolve()
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = null
        this.mayHaveWork = true // the safety poll: look even though no event said so
        this.signalled = false
        resolve()
      }, ms)
      this.wakeUp = () => {
        clearTimeout(timer)
        this.signalled = false
        resolve()
      }
    })
  }

  private loadImports(): Promise<void> {
    this.imported ??= (async () => {
      for (const spec of this.imports) {
        const url = spec.startsWith('.') || spec.startsWith('/') ? pathToFileURL(resolvePath(spec)).href : spec
        await import(url)
      }
    })()
    return this.imported
  }

  private async loop(mode: 'one' | 'end' | 'forever'): Promise<number> {
    if (this.active) throw new ValidationError('this worker is already running')
    this.active = true
    this.mode = mode
    this.stopping = false
    this.started = 0
    await this.loadImports()
    this.mayHaveWork = true
    const offWork = this.broker.on('new_work', this.onNewWork)
    const offSignals = this.broker.on('task_signal', this.onSignal)
    const heartbeat = setInterval(() => void this.renewLeases(), this.heartbeatMs)
    const reaper = setInterval(() => void this.broker.reapExpired().catch(() => {}), Math.max(50, this.leaseMs / 2))
    heartbeat.unref()
    reaper.unref()
    try {
      await this.broker.reapExpired().catch((err: unknown) => this.onError(err))
      while (!this.stopping) {
        let claimed = 0
        let nextRunAt: number | null = null
        let failed = false
        this.startWaiting()
        while (!this.stopping) {
          const free = this.concurrency - this.busy
          const ahead = mode === 'one' ? 0 : this.ahead.room
          if (free <= 0 && ahead <= 0) break
          if (mode === 'forever' && !this.mayHaveWork) break
          const room = Math.max(0, free) + ahead
          const wanted = mode === 'one' ? 1 : this.claimGrowth > 0 ? Math.min(room, Math.max(free, this.claimGrowth)) : free > 0 ? free : room
          const limit = this.capForRoom(wanted)
          // Nothing the size of the last task looked at fits now: a run's end wakes the loop.
          if (limit === 0) break
          const result = await this.claim(limit, Math.max(0, free))
          if (!result) {
            failed = true
            break
          }
          nextRunAt = result.nextRunAt
          const now = Date.now()
          for (const record of result.tasks) this.ahead.add(record, now)
          this.startWaiting()
          claimed += result.tasks.length
          if (mode === 'one' || result.tasks.length < limit) break
        }
        // After the claim: room that more urgent ready tasks did not take goes back to suspended ones.
        this.preemption?.resumeWhatFits()
        if (mode === 'one' && (this.started > 0 || this.running.size === 0)) {
          if (this.started > 0 || nextRunAt === null) break
        }
        if (failed) {
          // The broker is unreachable: back off, then look again (the broker reconnects).
          await this.waitForWake(Math.min(5000, 50 * 2 ** Math.min(this.failures, 7)))
          continue
        }
        // A task that ended during the claim (signalled) may have released dependents the claim did not see yet.
        if (mode === 'end' && claimed === 0 && this.running.size === 0 && this.ahead.size === 0 && nextRunAt === null && !this.signalled) break
        let delay = nextRunAt === null ? this.pollMs : Math.max(0, Math.min(this.pollMs, nextRunAt - Date.now()))
        const oldest = this.ahead.oldestClaimAt
        if (oldest !== null) delay = Math.min(delay, Math.max(0, oldest + this.ahead.maxWaitMs + 1 - Date.now()))
        const withdraw = this.offerSlots(mode)
        await this.waitForWake(delay)
        withdraw()
        const stale = this.ahead.takeStale(Date.now())
        if (stale.length > 0) await this.handBackWaiting(stale)
      }
      await this.handBackWaiting(this.ahead.takeAll())
      while (this.running.size > 0) {
        this.preemption?.resumeWhatFits()
        await this.waitForWake(this.pollMs)
      }
    } finally {
      offWork()
      offSignals()
      clearInterval(heartbeat)
      clearInterval(reaper)
      this.pool?.close()
      this.pool = null
      this.active = false
    }
    return this.started
  }

  /**
   * While it waits with free slots, a worker offers them to the next lone task submitted
   * through its broker in this process (BaseBroker.offerSlots): a broker that can, claims the
   * task for it as it stores it, which saves the claim's round trip. Only tasks it can run at
   * once whatever else runs are taken so (requirements met, no CPUs or memory reserved), and not
   * by a worker that weighs tasks against others (preemption, local disks first).
   */
  private offerSlots(mode: 'one' | 'end' | 'forever'): () => void {
    if (mode === 'one' || this.preemption || this.localFirst || this.stopping || this.busy >= this.concurrency) return noop
    let withdrawn = false
    this.offering = true
    const withdraw = this.broker.offerSlots({
      worker: this.id,
      leaseMs: this.leaseMs,
      accepts: (spec) => cpusNeeded(spec, this.capacity) === 0 && memoryNeeded(spec) === 0 && refusal(spec, this.identity) === null,
      take: (tasks) => {
        if (!this.active || this.stopping) {
          void this.handBackWaiting(tasks)
          return false
        }
        const now = Date.now()
        for (const record of tasks) this.ahead.add(record, now)
        this.startWaiting()
        // With slots still free the offer stands, and the loop sleeps on (a lone task at a
        // time, the usual case, then costs no turn of the loop to offer again).
        const stands = !withdrawn && this.busy < this.concurrency
        if (!stands) {
          this.offering = false
          this.wake()
        }
        return stands
      },
    })
    return () => {
      withdrawn = true
      this.offering = false
      withdraw()
    }
  }

  /** Whether the loop sleeps with its slots offered (see offerSlots). */
  private offering = false

  /** Runs holding a slot. */
  private get busy(): number {
    return this.running.size - this.ending
  }

  /** Starts tasks claimed ahead while slots are free (oldest claim first). */
  private startWaiting(): void {
    while (this.ahead.size > 0 && this.busy < this.concurrency && !this.stopping) {
      const record = this.ahead.next()
      if (record) this.start(record)
    }
  }

  /** Gives tasks claimed ahead back to `pending` (they waited too long, or the worker stops). */
  private async handBackWaiting(records: TaskRecord[]): Promise<void> {
    if (records.length === 0) return
    await this.broker
      .handBack(
        this.id,
        records.map((r) => ({ id: r.id, attempt: r.attempt })),
      )
      .catch((err: unknown) => this.onError(err)) // their leases expire: another worker runs them
  }

  /** At most as many tasks as fit in what is free, sized like the last one a claim looked at. */
  private capForRoom(limit: number): number {
    const need = this.roomNeed
    if (!need) return limit
    const byCpus = need.cpus > 0 ? Math.floor((this.capacity.cpus - this.usedCpus) / need.cpus + 1e-9) : limit
    const byMemory = need.memory > 0 ? Math.floor((this.capacity.memory - this.usedMemory) / need.memory) : limit
    // A preempting worker must still see the next task when it is full: it may be urgent.
    return Math.max(this.preemption ? 1 : 0, Math.min(limit, byCpus, byMemory))
  }

  /** One claim; null (after telling `onError`) if the broker failed. */
  private async claim(limit: number, slots: number): Promise<{ tasks: TaskRecord[]; nextRunAt: number | null } | null> {
    this.claiming.cpus = 0
    this.claiming.memory = 0
    this.claiming.count = 0
    this.claiming.slots = slots
    this.claiming.lastCpus = -1
    this.refusedAny = false
    const seq = this.workSeq
    try {
      const request = { worker: this.id, limit, leaseMs: this.leaseMs }
      const result = this.localFirst ? await this.localFirst.claim(this.broker, request, this.fits) : await this.broker.claim({ ...request, accept: this.fits })
      this.failures = 0
      this.claimGrowth = result.tasks.length >= limit ? 4 * result.tasks.length : 0
      if (this.workSeq === seq) this.mayHaveWork = result.tasks.length >= limit || this.refusedAny || result.nextRunAt !== null
      const { lastCpus, lastMemory } = this.claiming // set by `fits` meanwhile
      if (lastCpus >= 0) this.roomNeed = lastCpus > 0 || lastMemory > 0 ? { cpus: lastCpus, memory: lastMemory } : null
      return result
    } catch (err) {
      this.failures++
      this.onError(err)
      return null
    } finally {
      this.claiming.cpus = 0
      this.claiming.memory = 0
      this.claiming.count = 0
      for (const [id, why] of this.reasons.splice(0)) this.broker.setReason(id, why).catch(() => {})
    }
  }

  /**
   * Whether a task fits in what is left of this worker now. A task this worker can never run
   * gets the reason stored on it (once), so that people see why it waits.
   */
  private fits = (task: TaskRecord): boolean => {
    if (task.host !== null || task.platform !== null || task.user !== null || task.cwd !== null || task.cpus !== null || task.memory !== null) {
      const why = refusal(task, this.identity)
      if (why) {
        this.refusedAny = true
        if (task.reason !== why && !this.noted.has(task.id)) {
          this.noted.add(task.id)
          if (this.noted.size > 100_000) this.noted.clear()
          this.reasons.push([task.id, why])
        }
        return false
      }
    }
    const cpus = cpusNeeded(task, this.capacity)
    const memory = memoryNeeded(task)
    const { claiming } = this
    claiming.lastCpus = cpus
    claiming.lastMemory = memory
    if (this.preemption && !this.preemption.makeRoom(task, cpus, memory)) {
      this.refusedAny = true // kept for a suspended task: it stays ready for a later claim
      return false
    }
    if (this.usedCpus + claiming.cpus + cpus > this.capacity.cpus + 1e-9 || this.usedMemory + claiming.memory + memory > this.capacity.memory) {
      this.refusedAny = true
      return false
    }
    // Beyond the free slots, only a task that holds nothing while it waits is claimed ahead.
    if (claiming.count >= claiming.slots && !ClaimAhead.canWait(cpus, memory)) {
      this.refusedAny = true
      return false
    }
    // Tasks accepted earlier in the same claim are not started yet: count them too.
    claiming.cpus += cpus
    claiming.memory += memory
    claiming.count++
    return true
  }

  private start(record: TaskRecord): void {
    const run: Run = {
      record,
      attempt: record.attempt,
      cpus: cpusNeeded(record, this.capacity),
      memory: memoryNeeded(record),
      abort: null,
      onKill: null,
      pid: null,
      sampler: null,
      killedBy: null,
      lost: false,
      ending: false,
      startedMs: performance.now(),
      reserved: false,
      pause: null,
      yieldFor: null,
    }
    this.started++
    this.running.set(record.id, run)
    this.reserve(run)
    // The runs start after the code that started them, in one microtask: a claim loop that
    // starts a batch sends its next claim first, so the broker prepares it while they run (a
    // task that returns at once would otherwise end, free its slot and let the next start,
    // the whole batch before the claim).
    this.starting.push(run)
    if (this.starting.length === 1) queueMicrotask(this.runStarting)
  }

  private readonly starting: Run[] = []
  private runStarting = (): void => {
    for (const run of this.starting.splice(0)) void this.runToFinish(run)
  }

  /**
   * Runs a started task and records how it ended; never rejects. One async function for the
   * whole run, and no promise for what is at hand: a no-op task's run is mostly the promises
   * made for it (each also runs AsyncLocalStorage's hook), so a value a pattern returns at once
   * is taken as it is.
   */
  private async runToFinish(run: Run): Promise<void> {
    const { record } = run
    let context: RunContext<Run> | null = null
    try {
      let outcome: Outcome
      try {
        const pattern = lookupPattern(record.pattern)
        if (!pattern) throw new PatternMissingError(`no pattern "${record.pattern}" is registered in worker ${this.id}`)
        const ctx = new RunContext(record, this.broker, this.runOwner, run)
        context = ctx
        let result: string
        if (isolated(record)) {
          result = await untilKilled(run, this.runInChild(run, ctx))
        } else {
          const value = taskStorage.run(ctx, () => pattern.run(ctx))
          result = encode(isThenable(value) ? await untilKilled(run, value) : value, 'result')
        }
        // Each await costs a turn and promises: only for what there is to do.
        if (run.sampler) await this.stopSampler(run)
        if (record.expects) await checkExpectations(record)
        if (ctx.wrote) await ctx.closeOutput()
        outcome = { status: 'success', result }
      } catch (err) {
        if (run.sampler) await this.stopSampler(run)
        if (context?.wrote) await context.closeOutput().catch(() => {})
        outcome = this.failure(run, err)
      }
      if (run.lost) return
      this.ended(run)
      await this.broker.finish(record.id, run.attempt, outcome)
    } catch (err) {
      // Could not record the outcome (broker unreachable past the lease): the lease will
      // expire and the task runs again elsewhere, so nothing is lost.
      process.emitWarning(`aque worker ${this.id}: task ${record.id}: ${(err as Error).message}`)
    } finally {
      this.running.delete(record.id)
      if (run.ending) this.ending--
      else this.release(run)
      // A run that ended woke the loop already (its slot was freed then); running forever,
      // the loop has nothing more to learn from its finish: tasks the finish released are
      // announced by new_work (backed by the poll). Otherwise (and when stopping) the loop
      // waits on the count of runs.
      if (!run.ending || this.mode !== 'forever' || this.stopping) this.wake()
    }
  }

  /** Counts a run's CPUs and memory as used (when it starts, and when it resumes). */
  private reserve(run: PausableRun): void {
    if (run.reserved) return
    run.reserved = true
    this.usedCpus += run.cpus
    this.usedMemory += run.memory
  }

  /** Gives back the resources a run reserved (once: a suspended run gave them back already). */
  private release(run: PausableRun): void {
    if (!run.reserved) return
    run.reserved = false
    this.usedCpus -= run.cpus
    this.usedMemory -= run.memory
  }

  /**
   * The run's code has ended: its slot and resources are free while its outcome is recorded
   * (the run keeps its lease until then). The worker can thus claim the next tasks in the same
   * round trip as these finishes instead of one after the other. Woken once per turn of the
   * event loop, so that a burst of endings makes one claim.
   */
  private ended(run: Run): void {
    this.ahead.ran(performance.now() - run.startedMs)
    run.ending = true
    this.ending++
    this.release(run)
    // Running forever, asleep with its slots offered and no work known of, the loop would only
    // offer them again: a lone task at a time then costs it no turn.
    if (this.mode === 'forever' && this.offering && !this.mayHaveWork && this.ahead.size === 0) return
    if (!this.wakePending) {
      this.wakePending = true
      setImmediate(() => {
        this.wakePending = false
        // Tasks claimed ahead take the freed slots now, not after the claim in flight returns.
        if (this.active) this.startWaiting()
        this.wake()
      })
    }
  }

  private signal(run: Run, signal: string): void {
    if (TERMINATING.has(signal)) {
      run.killedBy = signal
      run.abort?.abort(signal)
      run.onKill?.(new TaskKilledError(`killed by ${signal}`))
    }
    if (run.pid !== null) {
      try {
        process.kill(-run.pid, signal as NodeJS.Signals)
      } catch {
        // The group is gone already.
      }
    }
    this.preemption?.signalled(run, TERMINATING.has(signal))
  }

  private async renewLeases(): Promise<void> {
    const leases = [...this.running.values()].map((r) => ({ id: r.record.id, attempt: r.attempt }))
    for (const record of this.ahead.records()) leases.push({ id: record.id, attempt: record.attempt })
    if (leases.length === 0) return
    let lost: number[]
    try {
      lost = await this.broker.heartbeat(this.id, leases, this.leaseMs)
    } catch {
      return // transient: the next beat tries again; the lease is longer than the period
    }
    for (const id of lost) {
      if (this.ahead.remove(id)) continue
      const run = this.running.get(id)
      if (!run) continue
      run.lost = true
      this.signal(run, 'SIGTERM')
    }
  }

  /** What the contexts of this worker's runs ask of it (one object for all of them). */
  private readonly runOwner: RunOwner<Run> = {
    signal: (run) => signalOf(run),
    setProcess: (run, pid, context) => {
      run.pid = pid
      run.sampler = new UsageSampler(pid, this.usageMs, (usage) => {
        context.write('usage', `${JSON.stringify({ time: Date.now(), ...usage })}\n`)
        this.broker.usage(run.record.id, usage).catch(() => {})
      })
      run.sampler.start()
      this.preemption?.started()
    },
    yieldRun: (run) => (this.preemption ? this.preemption.yieldPoint(run, signalOf(run)) : nextTurn()),
  }

  /** Runs a function task in a child process of the pool; resolves with its result's codec text. */
  private async runInChild(run: Run, ctx: RunContext<Run>): Promise<string> {
    this.pool ??= new ProcessPool(this.imports)
    const outcome = await this.pool.run(run.record, this.broker.toUrl(), {
      write: ctx.write,
      progress: (done, total, message) => this.broker.progress(run.record.id, { done, total, message }),
      setProcess: ctx.setProcess,
    })
    if (outcome.ok) return outcome.result
    throw decode(outcome.error)
  }

  /** Stops sampling and stores the totals (a last sample only if none was taken: the process is gone). */
  private async stopSampler(run: Run): Promise<void> {
    const sampler = run.sampler
    if (!sampler) return
    run.sampler = null
    const usage = sampler.stop()
    // Nothing measured (a task shorter than a sampling period): no write on the hot path.
    if (sampler.sampled) await this.broker.usage(run.record.id, usage).catch(() => {})
  }

  private failure(run: Run, err: unknown): Outcome {
    const { record } = run
    if (run.lost) return { status: 'error', error: encodeError(new LeaseLostError(`worker ${this.id} lost the lease on task ${record.id}`)) }
    if (run.killedBy) {
      const killed = err instanceof TaskKilledError ? err : new TaskKilledError(`killed by ${run.killedBy}`)
      killed.signal = run.killedBy
      return { status: 'killed', error: encodeError(killed) }
    }
    const retryAt = record.retryCount < record.retries ? Date.now() + record.retryDelay * 2 ** record.retryCount : null
    return { status: 'error', error: encodeError(err), retryAt }
  }

}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

function positive(n: number, name: string): number {
  if (typeof n !== 'number' || !(n > 0) || !Number.isFinite(n)) throw new ValidationError(`${name}: expected a positive number, got ${String(n)}`)
  return n
}

/** Function tasks that run in a child process: asked for, or given another interpreter. */
function isolated(record: TaskRecord): boolean {
  return (record.isolation === 'process' || record.interpreter !== null) && record.pattern === 'generic' && record.func !== null
}

function signalOf(run: Run): AbortSignal {
  if (!run.abort) {
    run.abort = new AbortController()
    if (run.killedBy) run.abort.abort(run.killedBy)
  }
  return run.abort.signal
}

/** Whether a pattern returned a promise (or another thenable) rather than its value. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function'
}

/** Stops waiting for a task's code when it is killed; in-process code cannot be stopped otherwise. */
function untilKilled<T>(run: Run, work: PromiseLike<T>): Promise<T> {
  if (run.killedBy) return Promise.reject(new TaskKilledError(`killed by ${run.killedBy}`))
  return new Promise<T>((resolve, reject) => {
    run.onKill = reject
    work.then(resolve, reject)
  })
}

/** Encodes a thrown value; one that cannot be encoded whole keeps its name, message and stack. */
function encodeError(err: unknown): string {
  try {
    return encode(err)
  } catch {
    const e = err instanceof Error ? err : new Error(String(err))
    const plain = new Error(e.message)
    plain.name = e.name
    plain.stack = e.stack ?? ''
    return encode(plain)
  }
}
