import type { BaseBroker } from '../broker/base-broker.js'
import { TaskKilledError } from '../errors/classes.js'
import type { TaskRecord } from '../task/record.js'
import type { Capacity } from './resources.js'

/** What preemption needs to know of, and keeps on, a worker's run. */
export interface PausableRun {
  readonly record: TaskRecord
  /** The attempt claimed: fences the status writes. */
  readonly attempt: number
  readonly cpus: number
  readonly memory: number
  /** Process group of a shell task, once started. */
  readonly pid: number | null
  /** Its code has ended (outcome being recorded). */
  readonly ending: boolean
  /** Whether its CPUs and memory are counted as used: false while it is suspended. */
  reserved: boolean
  /** Set while it is suspended. */
  pause: Pause | null
  /** Asked to yield (through `currentTask().yield()`) for work of this priority; null: not asked. */
  yieldFor: number | null
}

interface Pause {
  /** `signal`: a shell task's group got SIGSTOP; `yield`: a function task waits in yield(). */
  readonly kind: 'signal' | 'yield'
  /** When it was suspended (resumed first-suspended first at equal priority). */
  readonly since: number
  /** Lets a yielding task go on (or fail, when it is killed meanwhile). */
  readonly release?: (err?: Error) => void
}

/** What the worker lends preemption: its runs and its reservations. */
export interface PreemptionHost {
  readonly broker: BaseBroker
  readonly capacity: Capacity
  runs(): Iterable<PausableRun>
  /** CPUs and memory reserved now, by running tasks and by those accepted during the claim in flight. */
  used(): { cpus: number; memory: number }
  reserve(run: PausableRun): void
  release(run: PausableRun): void
  /** Makes the worker look for work (a task yielded: the urgent task fits now). */
  wake(): void
  onError(err: unknown): void
}

const EPSILON = 1e-9

/**
 * Preemption (`preempt` worker option): a task that does not fit in what is left of the worker
 * suspends running tasks of lower priority to make room. A shell task's process group gets
 * SIGSTOP at once; a function task is asked to yield and is suspended when it calls
 * `currentTask().yield()` (in-process code cannot be stopped from outside). A suspended task
 * keeps its lease (the worker renews it like any other) and gives back its CPUs and memory;
 * it takes them again when it resumes (SIGCONT, or its yield() resolving), highest priority
 * first, once they fit. Each change of status is stored through the broker, in order per run.
 */
export class Preemption {
  private readonly writes = new WeakMap<PausableRun, Promise<void>>()

  /** A claim wanted to stop a shell task whose group was not known yet (see `started`). */
  private awaitingStart = false

  constructor(private readonly host: PreemptionHost) {}

  /** A run's process group is known now: wakes the worker if a claim was waiting for one. */
  started(): void {
    if (!this.awaitingStart) return
    this.awaitingStart = false
    this.host.wake()
  }

  /**
   * Whether `task` may be accepted as far as preemption goes: false only for a task that fits
   * in the room kept for suspended tasks of higher or equal priority (they resume first). A
   * task that does not fit but would after suspending lower-priority shell tasks gets them
   * suspended now, so that the worker's own check then finds the room. When function tasks
   * would have to make the room, they are asked to yield, and the worker's check refuses the
   * task until a later claim (their yields wake the worker).
   */
  makeRoom(task: TaskRecord, cpus: number, memory: number): boolean {
    const used = this.host.used()
    const { capacity } = this.host
    let heldCpus = 0
    let heldMemory = 0
    for (const run of this.host.runs()) {
      if (run.pause && run.record.priority >= task.priority) {
        heldCpus += run.cpus
        heldMemory += run.memory
      }
    }
    const shortCpus = used.cpus + heldCpus + cpus - capacity.cpus
    const shortMemory = used.memory + heldMemory + memory - capacity.memory
    if (shortCpus <= EPSILON && shortMemory <= 0) return true
    if (heldCpus > 0 || heldMemory > 0) {
      // Room kept for suspended tasks of higher or equal priority is theirs, not this task's.
      if (used.cpus + cpus - capacity.cpus <= EPSILON && used.memory + memory - capacity.memory <= 0) return false
    }
    const victims = this.victims(task.priority, shortCpus, shortMemory)
    if (!victims) return true // nothing to preempt: the worker's check refuses it as usual
    if (victims.some((run) => isSignalled(run) && run.pid === null)) {
      // A shell task in its first milliseconds: its group is not known yet, so it cannot be
      // stopped. The worker's check refuses the task for now; that group's start wakes the
      // worker to claim again (`started`), and then all of them are stopped at once.
      this.awaitingStart = true
      return true
    }
    const cooperative = victims.filter((run) => !isSignalled(run))
    if (cooperative.length > 0) {
      // The worker's check refuses the task for now; the yields wake the worker to claim again.
      for (const run of cooperative) run.yieldFor = Math.max(run.yieldFor ?? task.priority, task.priority)
      return true
    }
    for (const run of victims) this.stop(run)
    return true
  }

  /**
   * The lowest-priority runs below `priority` (the latest submitted first among equals) whose
   * reservations cover the shortfall, or null if all of them together would not.
   */
  private victims(priority: number, shortCpus: number, shortMemory: number): PausableRun[] | null {
    const candidates = [...this.host.runs()].filter((run) => run.pause === null && run.reserved && !run.ending && run.record.priority < priority && preemptible(run))
    candidates.sort((a, b) => a.record.priority - b.record.priority || b.record.id - a.record.id)
    const chosen: PausableRun[] = []
    let cpus = 0
    let memory = 0
    for (const run of candidates) {
      if (cpus + EPSILON >= shortCpus && memory >= shortMemory) break
      // A run that frees nothing that is short is no help.
      if ((shortCpus > EPSILON && run.cpus > 0) || (shortMemory > 0 && run.memory > 0)) {
        chosen.push(run)
        cpus += run.cpus
        memory += run.memory
      }
    }
    return cpus + EPSILON >= shortCpus && memory >= shortMemory && chosen.length > 0 ? chosen : null
  }

  /** SIGSTOP to a shell task's group: it is suspended, its reservations free. */
  private stop(run: PausableRun): void {
    if (run.pid === null) return
    try {
      process.kill(-run.pid, 'SIGSTOP')
    } catch {
      return // the group is gone: the run is ending anyway
    }
    this.suspended(run, { kind: 'signal', since: Date.now() })
  }

  private suspended(run: PausableRun, pause: Pause): void {
    run.pause = pause
    this.host.release(run)
    this.write(run, true)
  }

  /**
   * Called by `currentTask().yield()`: resolves at once unless the worker asked this task to
   * yield; then the task is suspended until the worker resumes it. Rejects if it is killed
   * while it waits.
   */
  yieldPoint(run: PausableRun, signal: AbortSignal): Promise<void> {
    if (run.yieldFor === null || run.pause !== null || !run.reserved) return new Promise((resolve) => setImmediate(resolve))
    if (signal.aborted) return Promise.reject(killedError(signal))
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => release(killedError(signal))
      const release = (err?: Error) => {
        signal.removeEventListener('abort', onAbort)
        if (err) reject(err)
        else resolve()
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.suspended(run, { kind: 'yield', since: Date.now(), release })
      this.host.wake()
    })
  }

  /** Resumes suspended runs, highest priority first (then first suspended), while they fit. */
  resumeWhatFits(): void {
    const paused = [...this.host.runs()].filter((run) => run.pause !== null && !run.ending)
    if (paused.length === 0) return
    paused.sort((a, b) => b.record.priority - a.record.priority || (a.pause?.since ?? 0) - (b.pause?.since ?? 0))
    const { capacity } = this.host
    for (const run of paused) {
      const used = this.host.used()
      if (used.cpus + run.cpus > capacity.cpus + EPSILON || used.memory + run.memory > capacity.memory) return
      this.resume(run)
    }
  }

  private resume(run: PausableRun, err?: Error): void {
    const pause = run.pause
    if (!pause) return
    run.pause = null
    run.yieldFor = null
    if (!err) this.host.reserve(run)
    if (pause.kind === 'signal' && run.pid !== null) {
      try {
        process.kill(-run.pid, 'SIGCONT')
      } catch {
        // The group is gone already.
      }
    }
    pause.release?.(err)
    if (!err) this.write(run, false)
  }

  /**
   * A signal went to a suspended run: a stopped group does not act on SIGTERM until it is
   * continued, and a yielding task must stop waiting, so a terminating signal resumes it
   * without taking its reservations back (it is ending).
   */
  signalled(run: PausableRun, terminating: boolean): void {
    if (!terminating || !run.pause) return
    this.resume(run, new TaskKilledError('killed while suspended'))
  }

  /** Stores a status change, after the previous ones of the same run (a pool may reorder them). */
  private write(run: PausableRun, suspend: boolean): void {
    const previous = this.writes.get(run) ?? Promise.resolve()
    const next = previous
      .then(() => (suspend ? this.host.broker.suspend(run.record.id, run.attempt) : this.host.broker.resume(run.record.id, run.attempt)))
      .then(
        () => {},
        (err: unknown) => this.host.onError(err),
      )
    this.writes.set(run, next)
  }
}

/** Runs that can be suspended: shell tasks, and function tasks run in this process. */
function preemptible(run: PausableRun): boolean {
  if (run.record.pattern === 'shell') return true // its group, once started (see makeRoom)
  return run.record.pattern === 'generic' && run.record.isolation !== 'process' && run.record.interpreter === null
}

function isSignalled(run: PausableRun): boolean {
  return run.record.pattern === 'shell'
}

function killedError(signal: AbortSignal): Error {
  return new TaskKilledError(`killed by ${String(signal.reason ?? 'a signal')}`)
}
