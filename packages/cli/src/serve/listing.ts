import type { Broker, SearchFilter, TaskField, TaskWithProblems } from '@aque/core'

/** One page of a listing and the cursor of the next one (null at the end). */
export interface Page {
  tasks: TaskWithProblems[]
  next: number | null
}

/** Tasks after `after`, ascending by id: the broker's own paging. */
export async function pageAscending(broker: Broker, filter: SearchFilter, limit: number, fields: TaskField[]): Promise<Page> {
  const tasks: TaskWithProblems[] = []
  // One more than asked tells whether a next page exists without a second round trip.
  for await (const t of broker.search(filter, { fields, limit: limit + 1, pageSize: limit + 1 })) tasks.push(t)
  const more = tasks.length > limit
  if (more) tasks.length = limit
  return { tasks, next: more ? (tasks[tasks.length - 1]?.id ?? null) : null }
}

/** The smallest matching id greater than `after`, or null. */
async function firstAfter(broker: Broker, filter: SearchFilter, after: number): Promise<number | null> {
  for await (const t of broker.search({ ...filter, afterId: after }, { fields: ['id'], limit: 1, pageSize: 1 })) return t.id
  return null
}

/** Matching ids in (from, below), ascending, at most `max`. */
async function idsBetween(broker: Broker, filter: SearchFilter, from: number, below: number, max: number): Promise<number[]> {
  const ids: number[] = []
  for await (const t of broker.search({ ...filter, afterId: from }, { fields: ['id'], limit: max, pageSize: Math.min(max, 1000) })) {
    if (t.id >= below) break
    ids.push(t.id)
  }
  return ids
}

/**
 * The newest matching tasks below `before`, newest first. Brokers search ascending only, so
 * the largest matching id is found by doubling then bisecting (one `limit: 1` search per
 * step, a few dozen at most), then windows below it widen until they hold `limit` tasks.
 */
export async function pageDescending(broker: Broker, filter: SearchFilter, limit: number, fields: TaskField[], before: number | null): Promise<Page> {
  const ceiling = before ?? Number.MAX_SAFE_INTEGER
  const exists = async (after: number) => {
    const id = await firstAfter(broker, filter, after)
    return id !== null && id < ceiling
  }
  if (!(await exists(0))) return { tasks: [], next: null }
  // Invariant: some match lies above lo, none above hi.
  let lo = 0
  let hi = 1024
  while (await exists(hi)) {
    lo = hi
    hi *= 4
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (await exists(mid)) lo = mid
    else hi = mid
  }
  const top = hi // the largest matching id below the ceiling
  let width = limit
  let ids: number[] = []
  for (;;) {
    const from = Math.max(0, top - width)
    // With a window that holds more than `limit` ids, only the last ones are needed; the
    // ids alone are read, so even a wide window costs little.
    ids = await idsBetween(broker, filter, from, top + 1, Number.POSITIVE_INFINITY)
    if (ids.length > limit || from === 0) break
    width *= 4
  }
  const chosen = ids.slice(-limit).reverse()
  const olderExist = ids.length > limit
  const found = chosen.length > 0 ? await broker.fetch(chosen, fields) : new Map<number, TaskWithProblems>()
  const tasks = chosen.map((id) => found.get(id)).filter((t): t is TaskWithProblems => t !== undefined)
  return { tasks, next: olderExist ? (chosen[chosen.length - 1] ?? null) : null }
}
