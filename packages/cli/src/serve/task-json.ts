import type { TaskWithProblems } from '@aque/core'
import { commandOf, elapsedOf, safeJson } from '../lib/task-view.js'

/**
 * A task as the API shows it: JSON-safe (errors as `{ name, message, code }`, bytes as
 * base64, BigInt as text), with `command` and `elapsed` (seconds) computed. The values of
 * `environ` are left out, only its names are shown: an environment often holds secrets.
 */
export function taskJson(task: TaskWithProblems, now = Date.now()): Record<string, unknown> {
  const { environ, ...rest } = task
  const view: Record<string, unknown> = { ...rest, command: commandOf(task), elapsed: elapsedOf(task, now) }
  if (environ !== undefined) view.environKeys = environ === null ? null : Object.keys(environ).sort()
  if (task.error instanceof Error) view.error = errorJson(task.error)
  return JSON.parse(safeJson(view)) as Record<string, unknown>
}

/** An error with what helps a person: name, message, code, signal, exit code and the stack. */
function errorJson(err: Error): Record<string, unknown> {
  const e = err as Error & { code?: unknown; signal?: unknown; exitCode?: unknown }
  return {
    name: e.name,
    message: e.message,
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(e.signal !== undefined ? { signal: e.signal } : {}),
    ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
    ...(typeof e.stack === 'string' ? { stack: e.stack } : {}),
  }
}

/** The fields a task list shows: all but the bulky or private ones (environment, stdin, kwargs). */
export const LIST_FIELDS = [
  'id',
  'status',
  'name',
  'func',
  'pattern',
  'args',
  'parent',
  'user',
  'priority',
  'dependencies',
  'createdAt',
  'startedAt',
  'finishedAt',
  'worker',
  'progress',
  'attempt',
  'retryCount',
  'failedDependency',
  'reason',
] as const
