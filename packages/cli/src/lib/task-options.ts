import { resolve } from 'node:path'
import { type Command, Option } from 'commander'
import type { TaskPrototype } from '@aque/core'
import { UsageError } from './errors.js'

/** Options of `submit` and `xargs` that become task fields. */
export interface TaskOptions {
  cwd?: string
  name?: string
  priority?: number
  cpus?: number
  memory?: string
  host?: string
  platform?: string
  retries?: number
  environ?: boolean
}

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

export function integer(name: string) {
  return (value: string): number => {
    const n = Number(value)
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`${name}: "${value}" is not an integer`)
    return n
  }
}

export function nonNegativeInteger(name: string) {
  return (value: string): number => {
    const n = integer(name)(value)
    if (n < 0) throw new UsageError(`${name}: "${value}" must be 0 or a positive integer`)
    return n
  }
}

export function positiveInteger(name: string) {
  return (value: string): number => {
    const n = integer(name)(value)
    if (n <= 0) throw new UsageError(`${name}: "${value}" must be a positive integer`)
    return n
  }
}

function number(name: string) {
  return (value: string): number => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${name}: "${value}" is not a number`)
    return n
  }
}

/** Adds the task field options shared by `submit` and `xargs`. */
export function addTaskOptions(command: Command, options: { name: string; shortName: boolean }): Command {
  return command
    .option('--cwd <dir>', 'working directory of the task (default: the current one)')
    .option(options.shortName ? '-n, --name <name>' : '--name <name>', options.name)
    .option('-p, --priority <n>', 'larger runs first (default 1000)', integer('--priority'))
    .addOption(new Option('-c, --cpus <n>', 'CPUs reserved per task; -N means 1/N of the worker\'s').argParser(number('--cpus')))
    .option('--memory <size>', 'memory reserved per task, e.g. 512MB, 4GB')
    .option('--host <globs>', 'hosts allowed to run it: comma-separated globs, !glob excludes')
    .option('--platform <name>', 'process.platform the worker must have (linux, darwin, win32)')
    .option('--retries <n>', 're-run on error up to n times', integer('--retries'))
    .option('--no-environ', 'do not store the current environment for the task')
}

/** Variables that describe this shell session rather than what the task needs. */
const SESSION_VARIABLES = new Set(['AQUE_TID', 'AQUE_BROKER', 'PWD', 'OLDPWD', 'SHLVL', '_', 'TMUX', 'TMUX_PANE', 'TERM_SESSION_ID'])

/** The submitting environment, stored so that the task runs as it would here. */
export function submittingEnviron(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !SESSION_VARIABLES.has(key)) env[key] = value
  return env
}

/** The task fields of those options. */
export function taskFields(options: TaskOptions): Partial<TaskPrototype> {
  const fields: Partial<TaskPrototype> = { cwd: resolve(options.cwd ?? process.cwd()) }
  if (options.priority !== undefined) fields.priority = options.priority
  if (options.cpus !== undefined) fields.cpus = options.cpus
  if (options.memory !== undefined) fields.memory = options.memory
  if (options.host !== undefined) fields.host = options.host
  if (options.platform !== undefined) fields.platform = options.platform
  if (options.retries !== undefined) fields.retries = options.retries
  return fields
}
