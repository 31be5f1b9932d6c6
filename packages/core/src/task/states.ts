/** Every state a task can be in. `creating` → `pending` → `running` → `success` | `error` | `killed`. */
export const TASK_STATUSES = ['creating', 'pending', 'running', 'suspended', 'success', 'error', 'killed'] as const
export type TaskStatus = (typeof TASK_STATUSES)[number]

/** Final states: the task will not run again unless retried. */
export const COMPLETE_STATES: ReadonlySet<TaskStatus> = new Set(['success', 'error', 'killed'])
/** States in which the outcome (result or error) is ready to read, as Celery names them: the complete states. */
export const READY_STATES: ReadonlySet<TaskStatus> = COMPLETE_STATES
/** States in which the outcome is not known yet. */
export const UNREADY_STATES: ReadonlySet<TaskStatus> = new Set(['creating', 'pending', 'running', 'suspended'])
/** States that mean a dependency failed, so its dependents fail too. */
export const FAILED_STATES: ReadonlySet<TaskStatus> = new Set(['error', 'killed'])

export function isComplete(status: TaskStatus): boolean {
  return COMPLETE_STATES.has(status)
}
