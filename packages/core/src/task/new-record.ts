import type { TaskRecord, TaskSpec } from './record.js'

/**
 * The record of a task just stored (status `creating`, never run), built field by field: every
 * record gets the same hidden class (a spread of the spec made them slow to build and to read,
 * and the copies fed the garbage collector). Used by brokers that keep or rebuild records in
 * the process rather than reading them back.
 */
export function newRecord(spec: TaskSpec, id: number, dependencies: number[], now: number): TaskRecord {
  return {
    id,
    status: 'creating',
    func: spec.func,
    pattern: spec.pattern,
    args: spec.args,
    kwargs: spec.kwargs,
    name: spec.name,
    priority: spec.priority,
    duration: spec.duration,
    cpus: spec.cpus,
    memory: spec.memory,
    host: spec.host,
    platform: spec.platform,
    user: spec.user,
    group: spec.group,
    cwd: spec.cwd,
    environ: spec.environ,
    interpreter: spec.interpreter,
    isolation: spec.isolation,
    stdin: spec.stdin,
    stdinPath: spec.stdinPath,
    stdoutPath: spec.stdoutPath,
    stderrPath: spec.stderrPath,
    ioPaths: spec.ioPaths,
    retries: spec.retries,
    retryDelay: spec.retryDelay,
    runAt: spec.runAt,
    expects: spec.expects,
    parent: spec.parent,
    extra: spec.extra,
    dependencies,
    attempt: 0,
    retryCount: 0,
    result: null,
    error: null,
    failedDependency: null,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    worker: null,
    leaseUntil: null,
    progress: null,
    usage: null,
    reason: null,
  }
}
