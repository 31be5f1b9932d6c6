import { accessSync, constants, statSync } from 'node:fs'
import { userInfo } from 'node:os'
import type { TaskRecord } from '../task/record.js'
import type { HostIdentity } from './host-identity.js'
import { hostMatches } from './host-rules.js'
import { type Capacity, cpusNeeded, memoryNeeded } from './resources.js'

/** Who the worker process is. */
export interface WorkerIdentity {
  host: HostIdentity
  platform: string
  user: string | null
  isRoot: boolean
  capacity: Capacity
}

export function currentUser(): { user: string | null; isRoot: boolean } {
  try {
    const info = userInfo()
    return { user: info.username, isRoot: info.uid === 0 }
  } catch {
    return { user: null, isRoot: process.getuid?.() === 0 }
  }
}

/** How long a `cwd` check is trusted, ms: claims look at many candidates, stat is not free. */
const CWD_CACHE_MS = 5000
const cwdCache = new Map<string, { ok: boolean; at: number }>()

function usableDirectory(path: string): boolean {
  const now = Date.now()
  const hit = cwdCache.get(path)
  if (hit && now - hit.at < CWD_CACHE_MS) return hit.ok
  let ok = false
  try {
    ok = statSync(path).isDirectory()
    if (ok) accessSync(path, constants.R_OK | constants.X_OK)
  } catch {
    ok = false
  }
  if (cwdCache.size > 10_000) cwdCache.clear()
  cwdCache.set(path, { ok, at: now })
  return ok
}

/**
 * Why this worker can never run the task, or null if it could (given free capacity). The
 * reason is stored on the task so that people see why it waits.
 */
export function refusal(task: Pick<TaskRecord, 'platform' | 'host' | 'cpus' | 'pattern' | 'memory' | 'user' | 'cwd'>, worker: WorkerIdentity): string | null {
  if (task.platform && task.platform !== worker.platform) return `needs platform ${task.platform}`
  if (task.host && !hostMatches(task.host, worker.host)) return `needs host ${task.host}`
  const cpus = cpusNeeded(task, worker.capacity)
  if (cpus > worker.capacity.cpus + 1e-9) return `needs ${cpus} CPUs, workers have at most ${worker.capacity.cpus}`
  const memory = memoryNeeded(task)
  if (memory > worker.capacity.memory) return `needs ${memory} bytes of memory, more than a worker has`
  if (task.user && !worker.isRoot && task.user !== worker.user) return `runs as user ${task.user}: needs a worker of that user or root`
  if (task.cwd && !usableDirectory(task.cwd)) return `working directory ${task.cwd} is missing or unreadable here`
  return null
}
