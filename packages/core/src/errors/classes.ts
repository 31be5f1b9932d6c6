import { AqueError } from './aque-error.js'

/** Invalid input at a public boundary (prototype, URL, option). Names the field and the problem. */
export class ValidationError extends AqueError {
  override readonly code: string = 'AQUE_VALIDATION'
}

/** A dependency could not be resolved: unknown id, or a cycle among submitted prototypes. */
export class DependencyResolutionError extends AqueError {
  override readonly code: string = 'AQUE_DEPENDENCY_RESOLUTION'
}

/** A task did not run because a task it depends on (directly or transitively) failed or was killed. */
export class DependencyFailedError extends AqueError {
  override readonly code: string = 'AQUE_DEPENDENCY_FAILED'
  /** Id of the dependency that ended in `error` or `killed` (the root cause). */
  taskId = 0
  /** Status that dependency ended in. */
  dependencyStatus = 'error'

  static of(taskId: number, status: string): DependencyFailedError {
    const err = new DependencyFailedError(`dependency ${taskId} ended in ${status}`)
    err.taskId = taskId
    err.dependencyStatus = status
    return err
  }
}

/** The task names a pattern no worker of this process has registered. */
export class PatternMissingError extends AqueError {
  override readonly code: string = 'AQUE_PATTERN_MISSING'
}

/** A task's function could not be resolved (at submit, or by the worker that ran it). */
export class FunctionResolutionError extends AqueError {
  override readonly code: string = 'AQUE_FUNCTION_RESOLUTION'
}

/** `future.result({ timeout })` ran out of time; the task itself goes on. */
export class TimeoutError extends AqueError {
  override readonly code: string = 'AQUE_TIMEOUT'
}

/** Waiting was aborted through an AbortSignal. */
export class AbortedError extends AqueError {
  override readonly code: string = 'AQUE_ABORTED'
}

/** The task was killed (by `kill`, `cancel` or a signal). */
export class TaskKilledError extends AqueError {
  override readonly code: string = 'AQUE_KILLED'
  signal: string | null = null
}

/** A shell task exited with a non-zero code or by a signal. */
export class CommandError extends AqueError {
  override readonly code: string = 'AQUE_COMMAND_FAILED'
  exitCode: number | null = null
  signal: string | null = null
}

/** What the task was expected to produce (`expects`) is missing. */
export class ExpectationError extends AqueError {
  override readonly code: string = 'AQUE_EXPECTATION'
}

/** The worker lost its lease on the task (it expired and the task went to another worker). */
export class LeaseLostError extends AqueError {
  override readonly code: string = 'AQUE_LEASE_LOST'
}

/** A broker could not be reached or refused the connection. Messages never show passwords. */
export class BrokerConnectionError extends AqueError {
  override readonly code: string = 'AQUE_BROKER_CONNECTION'
}

/** No broker is registered for a URL scheme, and no package provides one. */
export class BrokerNotFoundError extends AqueError {
  override readonly code: string = 'AQUE_BROKER_NOT_FOUND'
}

/** A stored field could not be decoded; only that field is unreadable. */
export class DecodeError extends AqueError {
  override readonly code: string = 'AQUE_DECODE'
}

/** A task id that does not exist. */
export class TaskNotFoundError extends AqueError {
  override readonly code: string = 'AQUE_TASK_NOT_FOUND'
}

/** An error whose class is not known in this process: name, message, stack and properties kept. */
export class RemoteError extends AqueError {
  override readonly code: string = 'AQUE_REMOTE'
}
