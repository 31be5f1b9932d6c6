import { type Changes, dependencyFailedText } from '@aque/core'
import type { PoolClient } from 'pg'

interface Row {
  id: number
  status: string
  failed_dependency: number | null
  dependencies: number[]
}

const COMPLETE = "('success', 'error', 'killed')"

/**
 * `_retry` inside one transaction: re-queues the tasks, then walks down to the dependents that
 * failed because of them and re-queues those too, failing again any that still has another
 * failed dependency. Rows are locked as they are read. Rare and user-driven, so written for
 * clarity: a few statements per task.
 */
export async function retryTasks(c: PoolClient, s: string, ids: number[], includeSuccess: boolean, now: number): Promise<Changes> {
  const pending: number[] = []
  const failed: number[] = []
  let newWork = false
  const roots = new Set<number>()

  /** Back to pending: counts its unfinished dependencies again, or fails on a failed one. */
  const reset = async (row: Row): Promise<boolean> => {
    await c.query(
      `UPDATE ${s}.tasks SET status = 'pending', result = NULL, error = NULL, failed_dependency = NULL, finished_at = NULL,
         started_at = NULL, worker = NULL, lease_until = NULL, run_at = NULL, wait_until = NULL, retry_count = 0, progress = NULL
       WHERE id = $1`,
      [row.id],
    )
    if (row.status === 'success') {
      // Dependents still waiting counted this one as done: it is not any more.
      await c.query(
        `UPDATE ${s}.tasks t SET remaining = t.remaining + 1 FROM ${s}.deps d
         WHERE d.dependency = $1 AND t.id = d.dependent AND t.status NOT IN ${COMPLETE}`,
        [row.id],
      )
    }
    const deps = await c.query<{ id: number; status: string }>(`SELECT id, status FROM ${s}.tasks WHERE id = ANY($1::bigint[])`, [row.dependencies])
    const statusOf = new Map(deps.rows.map((d) => [d.id, d.status]))
    for (const depId of row.dependencies) {
      const status = statusOf.get(depId)
      if (status !== 'error' && status !== 'killed') continue
      await c.query(`UPDATE ${s}.tasks SET status = 'error', finished_at = $2, error = $3, failed_dependency = $4 WHERE id = $1`, [
        row.id,
        now,
        dependencyFailedText(depId, status),
        depId,
      ])
      const down = await c.query<{ ids: number[] }>(`SELECT ${s}.fail_dependents($1, $2, $3) AS ids`, [row.id, dependencyFailedText(row.id, 'error'), now])
      failed.push(row.id, ...(down.rows[0]?.ids ?? []))
      return false
    }
    const remaining = new Set(row.dependencies.filter((d) => statusOf.get(d) !== 'success')).size
    await c.query(`UPDATE ${s}.tasks SET remaining = $2 WHERE id = $1`, [row.id, remaining])
    return remaining === 0
  }

  const select = `SELECT id, status, failed_dependency, dependencies FROM ${s}.tasks`
  for (const id of ids) {
    const { rows } = await c.query<Row>(`${select} WHERE id = $1 FOR UPDATE`, [id])
    const row = rows[0]
    if (!row) continue
    if (!(row.status === 'error' || row.status === 'killed' || (includeSuccess && row.status === 'success'))) continue
    roots.add(id)
    newWork = (await reset(row)) || newWork
    pending.push(id)
  }
  // Dependents that failed because of a retried task wait again (they name it as the cause).
  const stack = [...roots]
  while (stack.length > 0) {
    const id = stack.pop() as number
    const { rows } = await c.query<Row>(`${select} WHERE id IN (SELECT dependent FROM ${s}.deps WHERE dependency = $1) ORDER BY id FOR UPDATE`, [id])
    for (const d of rows) {
      if (d.status !== 'error' || d.failed_dependency === null || !roots.has(d.failed_dependency)) continue
      newWork = (await reset(d)) || newWork
      pending.push(d.id)
      stack.push(d.id)
    }
  }
  return { changes: [{ status: 'pending', ids: pending }, { status: 'error', ids: failed }], newWork }
}
