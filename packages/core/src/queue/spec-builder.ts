import { statSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { EMPTY_ARGS, encode } from '../codec/codec.js'
import { FunctionResolutionError, ValidationError } from '../errors/classes.js'
import { type AnyFunction, isTaskDefinition, localReference, lookupTask, nameOfFunction } from '../functions/registry.js'
import type { BrokerCapabilities } from '../broker/contract.js'
import { parseBytes } from '../task/bytes.js'
import { PROTOTYPE_FIELDS, type TaskPrototype, prototypeSchema } from '../task/prototype.js'
import type { TaskRecord, TaskSpec } from '../task/record.js'
import { submitterDefaults } from './submitter-defaults.js'

/** Patterns that call `func`, so a task of theirs must have one. */
const NEEDS_FUNC = new Set(['generic', 'reduce'])
const MODULE_REF = /^[^#\s]+#[A-Za-z_$][\w$]*$/

/** The parent's fields a child task inherits unless it sets them. */
export type Inherited = Pick<TaskRecord, 'id' | 'priority' | 'user' | 'group' | 'cwd' | 'environ' | 'host' | 'platform'>

/** Turns what the user gave as `func` into the stored reference, or fails at submit. */
export function functionReference(func: unknown, capabilities: BrokerCapabilities): string | null {
  if (func === undefined || func === null) return null
  if (isTaskDefinition(func)) return func.name
  if (typeof func === 'function') {
    const name = nameOfFunction(func as AnyFunction)
    if (name) return name
    if (capabilities.localFunctions) return localReference(func as AnyFunction)
    throw new FunctionResolutionError(
      `func: ${(func as AnyFunction).name || 'an anonymous function'} is a plain function, which workers of another process cannot find; define it with task(name, fn) in a module the workers import`,
    )
  }
  if (typeof func === 'string') {
    if (func.includes('#')) {
      if (!MODULE_REF.test(func)) throw new ValidationError(`func: "${func}" is not a "module#export" reference`)
      return func
    }
    if (!lookupTask(func)) {
      throw new FunctionResolutionError(`func: no task named "${func}" is defined in this process; import the module that defines it, or use "module#export"`)
    }
    return func
  }
  throw new ValidationError('func: expected a task() definition, a function or a name')
}

function explicitParent(value: unknown): number | null {
  if (value === undefined || value === null) return null
  return typeof value === 'number' ? value : (value as { id: number }).id
}

/**
 * Scheduling hints of a shell task: its arguments that name existing files or directories
 * (relative to its cwd), and their total size in bytes as a pseudo-duration, so that bigger
 * jobs start first at equal priority.
 */
function pathHints(args: unknown[], cwd: string | null): { paths: string[]; bytes: number } | null {
  const paths: string[] = []
  let bytes = 0
  for (const arg of args.slice(1)) {
    if (typeof arg !== 'string' || arg === '' || arg.startsWith('-') || arg.length > 4096) continue
    const path = isAbsolute(arg) ? arg : resolve(cwd ?? '.', arg)
    try {
      const info = statSync(path)
      paths.push(path)
      if (info.isFile()) bytes += info.size
    } catch {
      // Not a path: an ordinary argument.
    }
  }
  return paths.length > 0 ? { paths, bytes } : null
}

function formatIssue(issue: { path: PropertyKey[]; message: string }, where: string): string {
  const path = issue.path.map(String).join('.')
  return `${where}${path ? `${path}: ` : ''}${issue.message}`
}

function toRunAt(value: Date | number | null | undefined): number | null {
  if (value === undefined || value === null) return null
  const ms = value instanceof Date ? value.getTime() : value
  if (!Number.isFinite(ms)) throw new ValidationError('runAt: not a valid time')
  return ms
}

/**
 * Validates one prototype (its own fields; dependencies are resolved by the graph) and
 * normalises it into the spec a broker stores, with the submitter's defaults and, inside a
 * running task, the parent's.
 */
export function buildSpec(proto: TaskPrototype, capabilities: BrokerCapabilities, parent: Inherited | null, where = ''): TaskSpec {
  const parsed = prototypeSchema.safeParse(proto)
  if (!parsed.success) throw new ValidationError(formatIssue(parsed.error.issues[0] ?? { path: [], message: 'invalid prototype' }, where))
  const p = parsed.data
  const pattern = p.pattern === undefined ? 'generic' : p.pattern
  const func = functionReference(p.func, capabilities)
  if (func === null && pattern !== null && NEEDS_FUNC.has(pattern)) throw new ValidationError(`${where}func: required by the ${pattern} pattern`)
  if (pattern === 'shell' && (!p.args || p.args.length === 0 || typeof p.args[0] !== 'string')) {
    throw new ValidationError(`${where}args: the shell pattern needs the command as args, program first`)
  }
  let extra: Record<string, unknown> | null = null
  for (const key of Object.keys(proto)) {
    if (PROTOTYPE_FIELDS.has(key)) continue
    extra ??= {}
    extra[key] = proto[key]
  }
  const defaults = submitterDefaults()
  const cwd = p.cwd ?? parent?.cwd ?? defaults.cwd
  const hints = pattern === 'shell' && p.ioPaths === undefined ? pathHints(p.args ?? [], cwd) : null
  return {
    func,
    pattern,
    args: p.args && p.args.length > 0 ? encode(p.args, `${where}args`) : EMPTY_ARGS,
    kwargs: p.kwargs ? encode(p.kwargs, `${where}kwargs`) : null,
    name: p.name ?? null,
    priority: p.priority ?? parent?.priority ?? 1000,
    duration: p.duration ?? hints?.bytes ?? 0,
    cpus: p.cpus ?? null,
    memory: p.memory === undefined || p.memory === null ? null : parseBytes(p.memory, `${where}memory`),
    host: p.host !== undefined ? p.host : (parent?.host ?? null),
    platform: p.platform !== undefined ? p.platform : (parent?.platform ?? null),
    user: p.user ?? parent?.user ?? defaults.user,
    group: p.group ?? parent?.group ?? defaults.group,
    cwd,
    environ: p.environ !== undefined ? p.environ : (parent?.environ ?? null),
    interpreter: p.interpreter ?? null,
    isolation: p.isolation ?? null,
    stdin: p.stdin === undefined || p.stdin === null ? null : encode(p.stdin),
    stdinPath: p.stdinPath ?? null,
    stdoutPath: p.stdoutPath ?? null,
    stderrPath: p.stderrPath ?? null,
    ioPaths: p.ioPaths ?? hints?.paths ?? null,
    retries: p.retries ?? 0,
    retryDelay: p.retryDelay ?? 1000,
    runAt: toRunAt(p.runAt),
    expects: p.expects ?? null,
    parent: explicitParent(p.parent) ?? parent?.id ?? null,
    extra: extra ? encode(extra, `${where}extra`) : null,
  }
}

/**
 * The fast path of `queue.submit(fn, ...args)`: no prototype object to validate, only the
 * function reference and the arguments.
 */
export function buildCallSpec(func: unknown, args: unknown[], capabilities: BrokerCapabilities, parent: Inherited | null): TaskSpec {
  const ref = functionReference(func, capabilities)
  if (ref === null) throw new ValidationError('func: required')
  const defaults = submitterDefaults()
  return {
    func: ref,
    pattern: 'generic',
    args: args.length > 0 ? encode(args, 'args') : EMPTY_ARGS,
    kwargs: null,
    name: null,
    priority: parent?.priority ?? 1000,
    duration: 0,
    cpus: null,
    memory: null,
    host: parent?.host ?? null,
    platform: parent?.platform ?? null,
    user: parent?.user ?? defaults.user,
    group: parent?.group ?? defaults.group,
    cwd: parent?.cwd ?? defaults.cwd,
    environ: parent?.environ ?? null,
    interpreter: null,
    isolation: null,
    stdin: null,
    stdinPath: null,
    stdoutPath: null,
    stderrPath: null,
    ioPaths: null,
    retries: 0,
    retryDelay: 1000,
    runAt: null,
    expects: null,
    parent: parent?.id ?? null,
    extra: null,
  }
}
