import type { IncomingMessage, ServerResponse } from 'node:http'
import { type Broker, COMPLETE_STATES, type TaskField, type TaskStatus } from '@aque/core'
import { dependencyClosure, expandGroups } from '../lib/graph.js'
import { relayEvents } from './events.js'
import { HttpError, queryOf, readJsonBody, validate } from './http.js'
import { pageAscending, pageDescending } from './listing.js'
import { eventsQuery, idText, killBody, noQuery, outputQuery, retryBody, tasksQuery } from './schemas.js'
import { LIST_FIELDS, taskJson } from './task-json.js'

/** What a handler gets: the broker, the request, its parsed URL and the path's parameters. */
export interface RouteContext {
  broker: Broker
  req: IncomingMessage
  res: ServerResponse
  url: URL
  params: string[]
}

/** A handler returns the JSON body (200), or undefined when it answered itself (events). */
export type Handler = (ctx: RouteContext) => Promise<unknown>

export interface Route {
  method: string
  pattern: RegExp
  handler: Handler
}

/** Signals that end a process: the task is marked killed. Others (USR1, STOP, CONT…) are only delivered. */
const ENDING = new Set(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGABRT'])

const listFields = [...LIST_FIELDS] as TaskField[]

/** The task of the path, read with these fields; 404 when it does not exist. */
async function existing(broker: Broker, idParam: string | undefined, fields?: TaskField[]) {
  const id = validate(idText, idParam, 'id')
  const task = (await broker.fetch([id], fields)).get(id)
  if (!task) throw new HttpError(404, `no task ${id}`)
  return task
}

async function listTasks({ broker, url }: RouteContext): Promise<unknown> {
  const q = validate(tasksQuery, queryOf(url), 'query')
  const now = Date.now()
  if (q.ids) {
    const found = await broker.fetch(q.ids, listFields)
    return {
      tasks: q.ids.flatMap((id) => {
        const t = found.get(id)
        return t ? [taskJson(t, now)] : []
      }),
      next: null,
    }
  }
  const filter = { ...(q.status ? { status: q.status } : {}), ...(q.parent !== undefined ? { parent: q.parent } : {}), ...(q.user ? { user: q.user } : {}) }
  const page =
    q.order === 'desc'
      ? await pageDescending(broker, filter, q.limit, listFields, q.before ?? null)
      : await pageAscending(broker, { ...filter, ...(q.after !== undefined ? { afterId: q.after } : {}) }, q.limit, listFields)
  return { tasks: page.tasks.map((t) => taskJson(t, now)), next: page.next }
}

async function getTask({ broker, url, params }: RouteContext): Promise<unknown> {
  validate(noQuery, queryOf(url), 'query')
  return taskJson(await existing(broker, params[0]))
}

async function getOutput({ broker, url, params }: RouteContext): Promise<unknown> {
  const { since } = validate(outputQuery, queryOf(url), 'query')
  const task = await existing(broker, params[0], ['status'])
  const chunks = await broker.getOutput([task.id], { since })
  const last = chunks[chunks.length - 1]
  return {
    status: task.status,
    chunks: chunks.map((c) => ({ seq: c.seq, stream: c.stream, offset: c.offset, data: Buffer.from(c.data).toString('base64') })),
    // Where to ask from next time: after the last chunk returned.
    next: last ? last.seq + 1 : since,
  }
}

async function getCounts({ broker, url }: RouteContext): Promise<unknown> {
  validate(noQuery, queryOf(url), 'query')
  return broker.counts()
}

/** Kill, as `aque kill` does: a group stands for its tasks; a complete task is a 409. */
async function killTask({ broker, req, url, params }: RouteContext): Promise<unknown> {
  validate(noQuery, queryOf(url), 'query')
  const body = validate(killBody, await readJsonBody(req), 'body')
  const task = await existing(broker, params[0], ['status', 'pattern'])
  const isGroup = task.pattern === null
  if (!isGroup && COMPLETE_STATES.has(task.status as TaskStatus)) throw new HttpError(409, `task ${task.id} is already complete (${task.status}), not killed`)
  const targets = body.dependencies ? await dependencyClosure(broker, [task.id]) : await expandGroups(broker, [task.id])
  const states = await broker.fetch(targets, ['status'])
  // Dependents first (larger ids): killing a dependency first would fail them as `error`.
  const live = targets.filter((id) => !COMPLETE_STATES.has(states.get(id)?.status as TaskStatus)).sort((a, b) => b - a)
  if (ENDING.has(body.signal)) {
    await broker.kill(live, body.signal)
    return { killed: live, signal: body.signal }
  }
  const running = live.filter((id) => states.get(id)?.status === 'running' || states.get(id)?.status === 'suspended')
  await broker.signal(running, body.signal)
  return { signalled: running, signal: body.signal }
}

/** Retry, as `aque retry` does: a group stands for its failed tasks; anything else not failed is a 409. */
async function retryTask({ broker, req, url, params }: RouteContext): Promise<unknown> {
  validate(noQuery, queryOf(url), 'query')
  const body = validate(retryBody, await readJsonBody(req), 'body')
  const task = await existing(broker, params[0], ['status', 'pattern'])
  const allowed = new Set<string>(body.includeSuccess ? ['error', 'killed', 'success'] : ['error', 'killed'])
  const isGroup = task.pattern === null
  if (!isGroup && !allowed.has(String(task.status))) {
    const hint = task.status === 'success' ? '; includeSuccess re-runs successes' : ''
    throw new HttpError(409, `task ${task.id} is ${task.status}, not retried${hint}`)
  }
  const candidates = isGroup ? (await expandGroups(broker, [task.id])).filter((id) => id !== task.id) : [task.id]
  const states = await broker.fetch(candidates, ['status'])
  const ok = candidates.filter((id) => allowed.has(String(states.get(id)?.status)))
  await broker.retry(ok, { includeSuccess: body.includeSuccess })
  return { retried: ok }
}

/** Removes a task and its output, killing it first if it still runs (as `aque rm`). */
async function deleteTask({ broker, url, params }: RouteContext): Promise<unknown> {
  validate(noQuery, queryOf(url), 'query')
  const task = await existing(broker, params[0], ['status'])
  if (!COMPLETE_STATES.has(task.status as TaskStatus)) await broker.kill([task.id])
  return { deleted: await broker.delete([task.id]) }
}

async function events(ctx: RouteContext): Promise<unknown> {
  const { task } = validate(eventsQuery, queryOf(ctx.url), 'query')
  await relayEvents(ctx.broker, ctx.req, ctx.res, task ?? null)
  return undefined
}

/** Every API route. Path parameters are captured as text and validated by the handler. */
export function apiRoutes(info: () => unknown): Route[] {
  return [
    {
      method: 'GET',
      pattern: /^\/api\/info$/,
      handler: async ({ url }) => {
        validate(noQuery, queryOf(url), 'query')
        return info()
      },
    },
    { method: 'GET', pattern: /^\/api\/tasks$/, handler: listTasks },
    { method: 'GET', pattern: /^\/api\/tasks\/([^/]+)$/, handler: getTask },
    { method: 'GET', pattern: /^\/api\/tasks\/([^/]+)\/output$/, handler: getOutput },
    { method: 'GET', pattern: /^\/api\/counts$/, handler: getCounts },
    { method: 'POST', pattern: /^\/api\/tasks\/([^/]+)\/kill$/, handler: killTask },
    { method: 'POST', pattern: /^\/api\/tasks\/([^/]+)\/retry$/, handler: retryTask },
    { method: 'DELETE', pattern: /^\/api\/tasks\/([^/]+)$/, handler: deleteTask },
    { method: 'GET', pattern: /^\/api\/events$/, handler: events },
  ]
}
