import type { BaseBroker } from '../broker/base-broker.js'
import type { ClaimRequest, ClaimResult } from '../broker/contract.js'
import type { TaskRecord } from '../task/record.js'
import { MountTable } from './mounts.js'

/**
 * The `localFirst` worker option: at equal priority, tasks whose `ioPaths` all sit on local
 * disks go before tasks with a path on a network mount (NFS, SMB, sshfs…: see mounts.ts), so
 * that a worker works from its own disks while the network is what others wait on. Tasks
 * without `ioPaths` count as local.
 *
 * The broker's dispatch order (priority, duration, id) is the same for every worker, so the
 * preference is made by the worker, in two claims: the first refuses network tasks, and once
 * it refused one of priority P it also refuses every candidate of lower priority (priority
 * still comes first); the second claim, made only if the first left room and refused a network
 * task, takes candidates in the plain dispatch order. The cost is a second round trip when a
 * network task was passed over; without network tasks it is one claim as usual.
 */
export class LocalFirst {
  constructor(private readonly mounts = new MountTable()) {}

  /** Whether one of the task's `ioPaths` is on a network mount. */
  remote(task: Pick<TaskRecord, 'ioPaths' | 'cwd'>): boolean {
    if (!task.ioPaths || task.ioPaths.length === 0) return false
    return task.ioPaths.some((path) => this.mounts.isNetwork(path, task.cwd))
  }

  /** Claims like `broker.claim(request)`, local tasks first at equal priority. */
  async claim(broker: BaseBroker, request: Omit<ClaimRequest, 'now' | 'accept'>, accept: (task: TaskRecord) => boolean): Promise<ClaimResult> {
    let passedOver: number | null = null
    const first = await broker.claim({
      ...request,
      accept: (task) => {
        if (passedOver !== null && task.priority < passedOver) return false
        if (this.remote(task)) {
          passedOver ??= task.priority
          return false
        }
        return accept(task)
      },
    })
    if (passedOver === null || first.tasks.length >= request.limit) return first
    const second = await broker.claim({ ...request, limit: request.limit - first.tasks.length, accept })
    const tasks = [...first.tasks, ...second.tasks]
    return { tasks, nextRunAt: tasks.length > 0 ? null : second.nextRunAt }
  }
}
