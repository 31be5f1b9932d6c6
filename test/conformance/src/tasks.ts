/**
 * The task functions of the suite, defined with `task()` at module level so that a worker on any
 * broker finds them by name (plain closures only run on brokers with `localFunctions`). Workers
 * of the suite run in this process, so the module-level records below see every run. Each test
 * keys its records with a token of its own (`uniqueToken()`), passed as an argument.
 */
import { currentTask, registerErrorClass, registerPattern, task } from '@aque/core'
import { type Deferred, deferred } from './helpers.js'

export const add = task('conformance.add', (a: number, b: number) => a + b)
export const square = task('conformance.square', (n: number) => n * n)
/** Returns its arguments, for codec round trips. */
export const echo = task('conformance.echo', (...values: unknown[]) => values)

export const throwTypeError = task('conformance.throwTypeError', function throwTypeError(): number {
  const missing = undefined as unknown as { field: { value: number } }
  return missing.field.value
})
export const parseJson = task('conformance.parseJson', (text: string): unknown => JSON.parse(text))

/** An app-defined error class, registered so that it comes back as itself. */
export class AppError extends Error {
  code = 'APP_FAILURE'
  detail: { reason: string; limit: bigint }
  constructor(message: string, detail: { reason: string; limit: bigint }) {
    super(message)
    this.name = 'AppError'
    this.detail = detail
  }
}
registerErrorClass(AppError)

export const throwAppError = task('conformance.throwAppError', function throwAppError(reason: string): never {
  throw new AppError(`app failure: ${reason}`, { reason, limit: 2n ** 70n })
})
/** A class no one registered: it comes back by name, not as itself. */
class UnregisteredError extends Error {
  override name = 'UnregisteredError'
  hint = 'kept'
}
export const throwUnregistered = task('conformance.throwUnregistered', (): never => {
  throw new UnregisteredError('not registered anywhere')
})
/** Returns what the codec cannot carry. */
export const returnFunction = task('conformance.returnFunction', () => () => 1)

/** A pattern of the suite's own: doubles its first argument. */
registerPattern({
  name: 'conformance.double',
  async run(ctx) {
    return (ctx.args[0] as number) * 2
  },
})

/** A pattern whose run is not async: triples its first argument, or throws AppError for a string. */
registerPattern({
  name: 'conformance.syncTriple',
  run(ctx) {
    const [x] = ctx.args
    if (typeof x === 'string') throw new AppError(x, { reason: 'sync', limit: 7n })
    return (x as number) * 3
  },
})

export const throwWithCause = task('conformance.throwWithCause', function throwWithCause(): never {
  throw new Error('outer', { cause: new RangeError('inner') })
})

// ---- runs recorded per token --------------------------------------------------------------
const runs = new Map<string, Array<{ id: number; label: unknown; time: number }>>()

/** Runs recorded under `token`, in the order they happened. */
export function runsOf(token: string): Array<{ id: number; label: unknown; time: number }> {
  return runs.get(token) ?? []
}

/** Records that it ran (its task id, `label`, the time) and returns `label`. */
export const record = task('conformance.record', (token: string, label: unknown = null) => {
  let list = runs.get(token)
  if (!list) runs.set(token, (list = []))
  list.push({ id: currentTask().id, label, time: Date.now() })
  return label
})

/** Fails its first `failures` runs, then returns the number of the run. */
export const flaky = task('conformance.flaky', (token: string, failures: number) => {
  let list = runs.get(token)
  if (!list) runs.set(token, (list = []))
  list.push({ id: currentTask().id, label: null, time: Date.now() })
  if (list.length <= failures) throw new Error(`planned failure ${list.length} of ${failures}`)
  return list.length
})

const broken = new Set<string>()
/** Makes `failWhileBroken(token)` fail until `repair(token)`. */
export function breakToken(token: string): void {
  broken.add(token)
}
export function repair(token: string): void {
  broken.delete(token)
}
export const failWhileBroken = task('conformance.failWhileBroken', (token: string) => {
  let list = runs.get(token)
  if (!list) runs.set(token, (list = []))
  list.push({ id: currentTask().id, label: null, time: Date.now() })
  if (broken.has(token)) throw new Error(`${token} is broken`)
  return list.length
})

// ---- gates: tasks that wait for the test ----------------------------------------------------
const gates = new Map<string, { started: Deferred<number>; release: Deferred<void> }>()

function gateOf(token: string) {
  let gate = gates.get(token)
  if (!gate) {
    gate = { started: deferred<number>(), release: deferred<void>() }
    gates.set(token, gate)
  }
  return gate
}
/** Resolves with the task id once a `gate(token)` task runs. */
export function gateStarted(token: string): Promise<number> {
  return gateOf(token).started.promise
}
/** Lets `gate(token)` tasks finish. */
export function openGate(token: string): void {
  gateOf(token).release.resolve()
}
/** Waits until the test opens its gate, then returns "opened". */
export const gate = task('conformance.gate', async (token: string) => {
  const g = gateOf(token)
  g.started.resolve(currentTask().id)
  await g.release.promise
  return 'opened'
})

// ---- currentTask() --------------------------------------------------------------------------
/** Reports progress `done` of `total` with a message, then returns. */
export const reportProgress = task('conformance.reportProgress', async (done: number, total: number) => {
  await currentTask().progress(done, total, `${done} of ${total}`)
  return done
})

/** Writes log records through currentTask().log(). */
export const writeLog = task('conformance.writeLog', (...lines: string[]) => {
  for (const line of lines) currentTask().log(line, { line })
  return lines.length
})

/** What the task sees of itself. */
export const introspect = task('conformance.introspect', () => {
  const t = currentTask()
  return { id: t.id, parent: t.prototype.parent, priority: t.prototype.priority, cwd: t.prototype.cwd, environ: t.prototype.environ }
})

/** The whole record the task was run with, as its code sees it. */
export const ownRecord = task('conformance.ownRecord', () => ({ ...currentTask().prototype }))

/** Submits `introspect` as a child and returns the child's id. */
export const spawnChild = task('conformance.spawnChild', async () => {
  const child = await currentTask().submit(introspect)
  return child.id
})
