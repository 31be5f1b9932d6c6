import type { BaseBroker } from '../broker/base-broker.js'
import { EMPTY_ARGS, decode } from '../codec/codec.js'
import { type AnyFunction, resolveFunction } from '../functions/registry.js'
import type { PatternContext } from '../patterns/pattern.js'
import type { TaskRecord } from '../task/record.js'
import { OutputWriter } from './output-writer.js'
import type { RunningTaskContext } from './task-context.js'

/** What a run's context asks of the worker that runs it; one per worker, shared by its runs. */
export interface RunOwner<R> {
  /** Aborted when the run is killed or loses its lease. */
  signal(run: R): AbortSignal
  /** The run's process group started (shell tasks): signals and usage sampling reach it. */
  setProcess(run: R, pid: number, context: RunContext<R>): void
  /** Where the run lets the worker suspend it. */
  yieldRun(run: R): Promise<void>
}

/**
 * The context of one run: what its pattern gets (PatternContext) and what its code sees through
 * `currentTask()` (RunningTaskContext), in one object per run. A class, so that every run's
 * context has the same shape and its accessor lives on the prototype: an object literal with a
 * getter and a few closures, twice per task, cost the worker's hot path more than the rest of it.
 */
export class RunContext<R> implements PatternContext, RunningTaskContext {
  readonly args: unknown[]
  readonly kwargs: Record<string, unknown> | null
  /** Made on the first write: most function tasks write nothing. */
  private writer: OutputWriter | null = null

  constructor(
    readonly record: TaskRecord,
    readonly broker: BaseBroker,
    private readonly owner: RunOwner<R>,
    private readonly run: R,
  ) {
    this.args = record.args === EMPTY_ARGS ? [] : (decode(record.args) as unknown[])
    this.kwargs = record.kwargs === null ? null : (decode(record.kwargs) as Record<string, unknown>)
  }

  get signal(): AbortSignal {
    return this.owner.signal(this.run)
  }

  resolveFunction(): Promise<AnyFunction> {
    return resolveFunction(this.record.func ?? '', this.record.cwd)
  }

  async dependencyResults(): Promise<unknown[]> {
    const { dependencies } = this.record
    if (dependencies.length === 0) return []
    const records = await this.broker.fetchRecords(dependencies, ['result'])
    return dependencies.map((id) => {
      const text = records.get(id)?.result
      return typeof text === 'string' ? decode(text) : null
    })
  }

  /** An arrow: handed on to a child process's pool as a plain function. */
  readonly write = (stream: string, data: Uint8Array | string): void => {
    this.writer ??= new OutputWriter(this.broker, this.record.id)
    this.writer.write(stream, data)
  }

  /** An arrow, like `write`. */
  readonly setProcess = (pid: number): void => {
    this.owner.setProcess(this.run, pid, this)
  }

  progress(done: number, total: number | null, message: string | null): Promise<void> {
    return this.broker.progress(this.record.id, { done, total, message })
  }

  yield(): Promise<void> {
    return this.owner.yieldRun(this.run)
  }

  /** Whether anything was written (the output must then be flushed before the run ends). */
  get wrote(): boolean {
    return this.writer !== null
  }

  /** Writes what is buffered; rejects if a write failed. */
  closeOutput(): Promise<void> {
    return this.writer ? this.writer.close() : Promise.resolve()
  }
}
