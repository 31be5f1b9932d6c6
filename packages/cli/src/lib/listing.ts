import { userInfo } from 'node:os'
import { type Broker, TASK_FIELDS, type TaskField, type TaskStatus, type TaskWithProblems } from '@aque/core'

/** The name of the user running aque (tasks are theirs by default). */
export function currentUser(): string | undefined {
  try {
    return userInfo().username
  } catch {
    return process.env.USER || undefined
  }
}

/** Fields worth reading for display: all but the bulky environment and stdin, unless asked. */
export function fieldsFor(all: boolean, mentioned: Iterable<string> = []): TaskField[] | undefined {
  if (all) return undefined
  const skip = new Set<string>(['environ', 'stdin', 'kwargs'])
  for (const m of mentioned) skip.delete(m.split('.')[0] as string)
  return TASK_FIELDS.filter((f) => !skip.has(f))
}

/** Tasks of one user (or everybody's), optionally in some states, ascending by id. */
export async function listTasks(
  broker: Broker,
  options: { allUsers: boolean; status?: TaskStatus[] | undefined; fields?: TaskField[] | undefined; limit?: number | undefined },
): Promise<Map<number, TaskWithProblems>> {
  const tasks = new Map<number, TaskWithProblems>()
  const user = options.allUsers ? undefined : currentUser()
  const filter = { ...(user ? { user } : {}), ...(options.status ? { status: options.status } : {}) }
  const searchOptions = { ...(options.fields ? { fields: options.fields } : {}), ...(options.limit !== undefined ? { limit: options.limit } : {}) }
  for await (const t of broker.search(filter, searchOptions)) tasks.set(t.id, t)
  return tasks
}
