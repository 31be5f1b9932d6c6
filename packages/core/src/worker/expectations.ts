import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { ExpectationError } from '../errors/classes.js'
import type { TaskRecord } from '../task/record.js'

/**
 * Checks what a task that succeeded was expected to produce. Files are relative to the task's
 * `cwd`; a missing or empty one makes the run an error.
 */
export async function checkExpectations(task: TaskRecord): Promise<void> {
  const files = task.expects?.files
  if (!files || files.length === 0) return
  const missing: string[] = []
  for (const file of files) {
    const path = resolve(task.cwd ?? process.cwd(), file)
    try {
      const info = await stat(path)
      if (info.size === 0) missing.push(`${file} (empty)`)
    } catch {
      missing.push(`${file} (missing)`)
    }
  }
  if (missing.length > 0) {
    const err = new ExpectationError(`expected files were not produced: ${missing.join(', ')}`)
    Object.assign(err, { missing })
    throw err
  }
}
