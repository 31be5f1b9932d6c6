import type { Broker, TaskWithProblems, TaskField } from '@aque/core'
import { CliError, UsageError } from './errors.js'

/** Parses task ids given on the command line ("12", "12,13"); a bad one is a usage error. */
export function parseIds(values: readonly string[]): number[] {
  const ids: number[] = []
  for (const value of values) {
    for (const part of value.split(',')) {
      const text = part.trim()
      if (text === '') continue
      const id = Number(text)
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(id) || id <= 0) throw new UsageError(`"${text}" is not a task id (a positive integer)`)
      ids.push(id)
    }
  }
  return ids
}

/** Fetches tasks by id; an id that does not exist is a failure naming it. */
export async function fetchExisting(broker: Broker, ids: number[], fields?: TaskField[]): Promise<Map<number, TaskWithProblems>> {
  const found = ids.length === 0 ? new Map<number, TaskWithProblems>() : await broker.fetch(ids, fields)
  const missing = ids.filter((id) => !found.has(id))
  if (missing.length > 0) throw new CliError(`no task ${missing.join(', ')}${missing.length > 1 ? ' (they do not exist)' : ' (it does not exist)'}`)
  return found
}
