import type { Broker, TaskField, TaskWithProblems } from '@aque/core'
import type { TreeRow } from './render.js'

/** Ids of the tasks whose `parent` is `id` (the members of a group), ascending. */
export async function childrenOf(broker: Broker, id: number): Promise<number[]> {
  const ids: number[] = []
  for await (const t of broker.search({ parent: id }, { fields: ['id'] })) ids.push(t.id)
  return ids
}

/**
 * The tasks `ids` stand for: a group (`pattern: null`) stands for its members, recursively,
 * since it completes at once and its members do the work. Other tasks stand for themselves.
 */
export async function expandGroups(broker: Broker, ids: number[]): Promise<number[]> {
  const out: number[] = []
  const seen = new Set<number>()
  let frontier = ids
  while (frontier.length > 0) {
    const tasks = await broker.fetch(frontier, ['pattern'])
    const next: number[] = []
    for (const id of frontier) {
      if (seen.has(id)) continue
      seen.add(id)
      const t = tasks.get(id)
      if (t && t.pattern === null) {
        const members = await childrenOf(broker, id)
        if (members.length === 0) out.push(id)
        next.push(...members)
      } else out.push(id)
    }
    frontier = next
  }
  return out
}

/**
 * Every task `ids` depend on, transitively, with group members, and `ids` themselves
 * (`kill -r`). Read breadth-first, one round trip per level.
 */
export async function dependencyClosure(broker: Broker, ids: number[]): Promise<number[]> {
  const seen = new Set<number>()
  let frontier = [...new Set(ids)]
  while (frontier.length > 0) {
    for (const id of frontier) seen.add(id)
    const tasks = await broker.fetch(frontier, ['dependencies', 'pattern'])
    const next = new Set<number>()
    for (const t of tasks.values()) {
      for (const dep of t.dependencies ?? []) if (!seen.has(dep)) next.add(dep)
      if (t.pattern === null) for (const m of await childrenOf(broker, t.id)) if (!seen.has(m)) next.add(m)
    }
    frontier = [...next]
  }
  return [...seen].sort((a, b) => a - b)
}

/** Children shown under a task: its dependencies, then the members of a group. */
function childIds(task: TaskWithProblems, members: Map<number, number[]>): number[] {
  return [...(task.dependencies ?? []), ...(members.get(task.id) ?? [])]
}

/**
 * Lays tasks out as a tree, dependencies and group members nested under the task that needs
 * them, to `depth` levels. `roots` are the top-level ids; `load` fetches tasks not at hand.
 */
export async function buildTree(
  broker: Broker,
  roots: number[],
  known: Map<number, TaskWithProblems>,
  options: { depth: number; fields?: TaskField[] | undefined; members?: Map<number, number[]> | undefined },
): Promise<TreeRow[]> {
  const members = options.members ?? new Map<number, number[]>()
  const rows: TreeRow[] = []
  const visit = async (ids: number[], depth: number, lasts: boolean[]) => {
    const missing = ids.filter((id) => !known.has(id))
    if (missing.length > 0) for (const [id, t] of await broker.fetch(missing, options.fields)) known.set(id, t)
    for (let i = 0; i < ids.length; i++) {
      const task = known.get(ids[i] as number)
      if (!task) continue
      const rowLasts = [...lasts, i === ids.length - 1]
      rows.push({ task, depth, lasts: rowLasts })
      if (depth >= options.depth) continue
      if (!options.members && task.pattern === null && !members.has(task.id)) members.set(task.id, await childrenOf(broker, task.id))
      const children = childIds(task, members)
      if (children.length > 0) await visit(children, depth + 1, rowLasts)
    }
  }
  await visit(roots, 0, [])
  return rows
}

/**
 * Top-level tasks of a listing: those no listed task depends on or contains. `members` maps a
 * group to its listed members.
 */
export function listingRoots(tasks: Map<number, TaskWithProblems>): { roots: number[]; members: Map<number, number[]> } {
  const nested = new Set<number>()
  const members = new Map<number, number[]>()
  for (const t of tasks.values()) {
    for (const dep of t.dependencies ?? []) if (tasks.has(dep)) nested.add(dep)
    if (typeof t.parent === 'number' && tasks.has(t.parent)) {
      nested.add(t.id)
      const list = members.get(t.parent) ?? []
      list.push(t.id)
      members.set(t.parent, list)
    }
  }
  return { roots: [...tasks.keys()].filter((id) => !nested.has(id)).sort((a, b) => a - b), members }
}
