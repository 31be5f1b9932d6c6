import { constants } from 'node:os'
import { TASK_STATUSES } from '@aque/core'
import { z } from 'zod'

/** A task id as text in a path or query: a positive safe integer. */
export const idText = z
  .string()
  .regex(/^\d+$/, 'must be a task id (a positive integer)')
  .transform(Number)
  .pipe(z.number().int().positive('must be a task id (a positive integer)').max(Number.MAX_SAFE_INTEGER, 'is too large for a task id'))

/** A non-negative integer as text. */
const countText = z.string().regex(/^\d+$/, 'must be a non-negative integer').transform(Number).pipe(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))

/** Most tasks one page holds. */
export const MAX_PAGE = 1000

/** Query of `GET /api/tasks`. */
export const tasksQuery = z
  .strictObject({
    status: z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''))
      .pipe(z.array(z.enum(TASK_STATUSES, { error: (issue) => `"${String(issue.input)}" is not a state (${TASK_STATUSES.join(', ')}; comma-separated)` })).min(1, 'names no state'))
      .optional(),
    parent: idText.optional(),
    user: z.string().min(1, 'must not be empty').max(256).optional(),
    limit: z
      .string()
      .regex(/^\d+$/, `must be an integer from 1 to ${MAX_PAGE}`)
      .transform(Number)
      .pipe(z.number().int().min(1, `must be an integer from 1 to ${MAX_PAGE}`).max(MAX_PAGE, `must be an integer from 1 to ${MAX_PAGE}`))
      .default(100),
    after: idText.optional(),
    before: idText.optional(),
    order: z.enum(['asc', 'desc'], { error: 'must be asc or desc' }).default('asc'),
    ids: z
      .string()
      .transform((s) => s.split(',').filter((x) => x.trim() !== ''))
      .pipe(z.array(idText).min(1, 'names no task').max(MAX_PAGE, `names more than ${MAX_PAGE} tasks`))
      .optional(),
  })
  .superRefine((q, ctx) => {
    if (q.after !== undefined && q.order === 'desc') ctx.addIssue({ code: 'custom', path: ['after'], message: 'pages ascending listings; use before with order=desc' })
    if (q.before !== undefined && q.order === 'asc') ctx.addIssue({ code: 'custom', path: ['before'], message: 'pages descending listings (order=desc); use after otherwise' })
    if (q.ids && (q.status || q.parent !== undefined || q.user || q.after !== undefined || q.before !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['ids'], message: 'cannot be combined with status, parent, user, after or before' })
    }
  })

/** Query of `GET /api/tasks/:id/output`. */
export const outputQuery = z.strictObject({ since: countText.default(0) })

/** Query of `GET /api/events`. */
export const eventsQuery = z.strictObject({ task: idText.optional() })

/** Query of routes that take none. */
export const noQuery = z.strictObject({})

/** "INT", "SIGINT", "2" → "SIGINT"; anything else is not a signal. */
function signalName(value: string | number): string | null {
  const signals = constants.signals as Record<string, number>
  const text = String(value).trim().toUpperCase()
  if (/^\d+$/.test(text)) return Object.keys(signals).find((k) => signals[k] === Number(text)) ?? null
  const name = text.startsWith('SIG') ? text : `SIG${text}`
  return name in signals ? name : null
}

/** Body of `POST /api/tasks/:id/kill`. */
export const killBody = z.strictObject({
  signal: z
    .union([z.string(), z.number().int()])
    .transform((v, ctx) => {
      const name = signalName(v)
      if (name === null) {
        ctx.addIssue({ code: 'custom', message: `"${String(v)}" is not a signal (e.g. TERM, INT, KILL, 9)` })
        return z.NEVER
      }
      return name
    })
    .default('SIGTERM'),
  dependencies: z.boolean('must be true or false').default(false),
})

/** Body of `POST /api/tasks/:id/retry`. */
export const retryBody = z.strictObject({ includeSuccess: z.boolean('must be true or false').default(false) })
