import { FunctionResolutionError, ValidationError } from '../errors/classes.js'

// biome-ignore lint/suspicious/noExplicitAny: task functions take any arguments
export type AnyFunction = (...args: any[]) => unknown

/** A function that workers find by name. Made by `task(name, fn)`; submit it like the function itself. */
export interface TaskDefinition<F extends AnyFunction = AnyFunction> {
  readonly kind: 'aque.task'
  readonly name: string
  readonly fn: F
}

/**
 * Names of the tasks an app defines, for typed submission by name. Extend it by declaration
 * merging: `declare module '@aque/core' { interface TaskRegistry { resize: typeof resize } }`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface TaskRegistry {}

const byName = new Map<string, TaskDefinition>()
const nameByFunction = new WeakMap<AnyFunction, string>()

const NAME = /^[A-Za-z_$][\w$.:/-]*$/

/**
 * Defines a task that workers resolve by `name`: the module that calls `task()` must be
 * imported by the worker (`aque worker --import ./dist/tasks.js`, or `imports`).
 */
export function task<F extends AnyFunction>(name: string, fn: F): TaskDefinition<F> {
  if (typeof name !== 'string' || !NAME.test(name) || name.includes('#')) {
    throw new ValidationError(`task name: "${String(name)}" must start with a letter and hold no spaces or "#"`)
  }
  if (typeof fn !== 'function') throw new ValidationError(`task ${name}: the second argument must be a function`)
  const existing = byName.get(name)
  if (existing && existing.fn !== fn) {
    // Re-defining under the same name (a reloaded module) replaces the old definition.
    nameByFunction.delete(existing.fn)
  }
  const def: TaskDefinition<F> = Object.freeze({ kind: 'aque.task', name, fn })
  byName.set(name, def)
  nameByFunction.set(fn, name)
  return def
}

export function isTaskDefinition(value: unknown): value is TaskDefinition {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'aque.task'
}

export function lookupTask(name: string): TaskDefinition | undefined {
  return byName.get(name)
}

export function nameOfFunction(fn: AnyFunction): string | undefined {
  return nameByFunction.get(fn)
}

// ---- closures that only an in-process worker can run ------------------------------------------
const closures = new Map<number, AnyFunction>()
const closureIds = new WeakMap<AnyFunction, number>()
let nextClosure = 1

/** A `local:N` reference to a closure, valid in this process only. */
export function localReference(fn: AnyFunction): string {
  let id = closureIds.get(fn)
  if (id === undefined) {
    id = nextClosure++
    closureIds.set(fn, id)
    closures.set(id, fn)
  }
  return `local:${id}`
}

/**
 * The function of a reference that needs no import (a task() name or a closure of this
 * process), or null: a worker calls it in the same turn, without a promise of its own.
 */
export function resolveFunctionNow(ref: string): AnyFunction | null {
  if (ref.startsWith('local:')) return closures.get(Number(ref.slice(6))) ?? null
  return ref.includes('#') ? null : (byName.get(ref)?.fn ?? null)
}

/**
 * Resolves a stored function reference to a function: a task name, `local:N`, or
 * `module#export` (imported; an exported TaskDefinition counts as its function).
 */
export async function resolveFunction(ref: string, cwd?: string | null): Promise<AnyFunction> {
  if (ref.startsWith('local:')) {
    const fn = closures.get(Number(ref.slice(6)))
    if (!fn) throw new FunctionResolutionError(`${ref} is a closure of another process; define it with task() to run it elsewhere`)
    return fn
  }
  const hash = ref.lastIndexOf('#')
  if (hash < 0) {
    const def = byName.get(ref)
    if (!def) throw new FunctionResolutionError(`no task named "${ref}" is defined in this worker; import the module that defines it`)
    return def.fn
  }
  const specifier = ref.slice(0, hash)
  const exportName = ref.slice(hash + 1) || 'default'
  let mod: Record<string, unknown>
  try {
    mod = (await import(await moduleUrl(specifier, cwd))) as Record<string, unknown>
  } catch (err) {
    throw new FunctionResolutionError(`cannot import "${specifier}": ${(err as Error).message}`, { cause: err })
  }
  const value = mod[exportName]
  if (isTaskDefinition(value)) return value.fn
  if (typeof value === 'function') return value as AnyFunction
  throw new FunctionResolutionError(`"${specifier}" has no function export "${exportName}"`)
}

async function moduleUrl(specifier: string, cwd?: string | null): Promise<string> {
  if (specifier.startsWith('.') || specifier.startsWith('/')) {
    const { pathToFileURL } = await import('node:url')
    const { resolve } = await import('node:path')
    return pathToFileURL(resolve(cwd ?? process.cwd(), specifier)).href
  }
  return specifier
}
