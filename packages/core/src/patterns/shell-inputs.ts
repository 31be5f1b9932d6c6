import type { BaseBroker } from '../broker/base-broker.js'
import { decode } from '../codec/codec.js'
import type { TaskRecord } from '../task/record.js'
import { groupId, userIds } from '../worker/user-lookup.js'

const MAX_PARENT_DEPTH = 16

/**
 * The environment a task inherits from its parents: a task without `environ` of its own takes
 * its nearest parent's. This is how a group made by `aque xargs` stores the submitting
 * environment once for thousands of tasks.
 */
export async function inheritedEnviron(broker: BaseBroker, task: TaskRecord): Promise<Record<string, string>> {
  if (task.environ) return task.environ
  let parent = task.parent
  for (let depth = 0; parent !== null && depth < MAX_PARENT_DEPTH; depth++) {
    const record = (await broker.fetchRecords([parent], ['environ', 'parent'])).get(parent)
    if (!record) break
    if (record.environ) return record.environ
    parent = record.parent ?? null
  }
  return {}
}

/** Extra fields the shell pattern understands (kept in `extra` by the submitter). */
interface ShellExtra {
  /** Id of a task whose stdout becomes this task's stdin (`aque submit --pipe-from`). */
  pipeFrom?: number
}

/** The bytes to feed to the command's stdin, if any: `stdin`, or another task's stdout. */
export async function stdinBytes(broker: BaseBroker, task: TaskRecord): Promise<string | Uint8Array | undefined> {
  if (task.stdin !== null) return decode(task.stdin) as string | Uint8Array
  const extra = task.extra === null ? null : (decode(task.extra) as ShellExtra | null)
  if (typeof extra?.pipeFrom !== 'number') return undefined
  const chunks = await broker.getOutput([extra.pipeFrom])
  const stdout = chunks.filter((c) => c.stream === 'stdout').sort((a, b) => a.offset - b.offset)
  return Buffer.concat(stdout.map((c) => c.data))
}

/** uid/gid to run as: a root worker switches to the task's user and group; others run as themselves. */
export function runAs(task: TaskRecord): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0 || !task.user || task.user === 'root') return {}
  const ids = userIds(task.user)
  if (!ids) return {}
  const gid = task.group ? (groupId(task.group) ?? ids.gid) : ids.gid
  return { uid: ids.uid, gid }
}
