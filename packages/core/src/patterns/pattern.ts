import 'reflect-metadata'
import { container } from 'tsyringe'
import type { BaseBroker } from '../broker/base-broker.js'
import { ValidationError } from '../errors/classes.js'
import type { AnyFunction } from '../functions/registry.js'
import type { TaskRecord } from '../task/record.js'

/** Everything a pattern needs to run one task. */
export interface PatternContext {
  /** The stored task (codec fields still text). */
  record: TaskRecord
  /** Decoded positional arguments. */
  args: unknown[]
  /** Decoded named arguments. */
  kwargs: Record<string, unknown> | null
  broker: BaseBroker
  /** Aborted when the task is killed or its lease is lost; `signal.reason` is the signal name. */
  signal: AbortSignal
  /** Resolves `record.func` (task name, `module#export` or closure). */
  resolveFunction(): Promise<AnyFunction>
  /** Results of the dependencies, in the order they were given. */
  dependencyResults(): Promise<unknown[]>
  /** Writes to the task's output stream (`stdout`, `stderr`, `log`, …), batched. */
  write(stream: string, data: Uint8Array | string): void
  /** Registers the process group the task runs, so that signals reach it. */
  setProcess(pid: number): void
}

/** How a task is run. The result is the task's result; a throw is its error. */
export interface Pattern {
  readonly name: string
  /** Runs the task; its result, or a promise of it (a value at once saves a short task a turn). */
  run(context: PatternContext): unknown
}

const token = (name: string) => `aque:pattern:${name}`
/** Lookups by name, in front of the container: a worker looks one up per task. */
const cache = new Map<string, Pattern | undefined>()

/** Makes a pattern available to the workers of this process, by its name. */
export function registerPattern(pattern: Pattern): void {
  if (typeof pattern?.name !== 'string' || !pattern.name || typeof pattern.run !== 'function') {
    throw new ValidationError('pattern: expected { name, run(context) }')
  }
  container.register<Pattern>(token(pattern.name), { useValue: pattern })
  cache.clear()
}

/** The pattern of that name, or undefined. The group pattern (`null`) is registered as "group". */
export function lookupPattern(name: string | null): Pattern | undefined {
  const key = token(name ?? 'group')
  if (cache.has(key)) return cache.get(key)
  const pattern = container.isRegistered(key) ? container.resolve<Pattern>(key) : undefined
  cache.set(key, pattern)
  return pattern
}
