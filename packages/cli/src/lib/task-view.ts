import { TASK_FIELDS, type TaskWithProblems } from '@aque/core'

/** Fields computed for display, filters and templates, besides the stored ones. */
export const COMPUTED_FIELDS = ['command', 'elapsed', 'state'] as const

/** Every name `--filter`, `--csv` and `--format` accept. */
export const VIEW_FIELDS: ReadonlySet<string> = new Set<string>([...TASK_FIELDS, ...COMPUTED_FIELDS])

/** Quotes an argument for display the way a shell would need it. */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[\w@%+=:,./-]+$/.test(arg)) return arg
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

/** What a person recognises a task by: its name, its command line, or its function. */
export function commandOf(task: TaskWithProblems): string {
  if (task.name) return task.name
  if (task.pattern === 'shell' && Array.isArray(task.args)) return task.args.map((a) => shellQuote(String(a))).join(' ')
  if (task.pattern === null) return '(group)'
  if (task.func) {
    const args = Array.isArray(task.args) ? task.args.map((a) => safeJson(a)).join(', ') : ''
    return `${task.func}(${args})`
  }
  return task.pattern ?? ''
}

/** Seconds the task ran (so far, if it runs), or null if it never started. */
export function elapsedOf(task: TaskWithProblems, now = Date.now()): number | null {
  if (typeof task.startedAt !== 'number') return null
  const end = task.status === 'running' || task.status === 'suspended' ? now : (task.finishedAt ?? now)
  return Math.max(0, (end - task.startedAt) / 1000)
}

/** The task with its computed fields, for filters, templates and machine output. */
export function viewOf(task: TaskWithProblems, now = Date.now()): Record<string, unknown> {
  return { ...task, state: task.status, command: commandOf(task), elapsed: elapsedOf(task, now) }
}

/** "1:02:03", "2:03", "3.2s". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return ''
  if (seconds < 60) return `${seconds.toFixed(1)}s`
  const s = Math.floor(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`
}

/** "3/10 30% message". */
export function formatProgress(task: TaskWithProblems): string {
  const p = task.progress
  if (!p) return ''
  const part = p.total ? `${p.done}/${p.total} ${Math.floor((100 * p.done) / p.total)}%` : String(p.done)
  return p.message ? `${part} ${p.message}` : part
}

/** JSON that never throws: BigInt, Error, Map, Set, bytes and cycles become plain values. */
export function safeJson(value: unknown): string {
  const seen = new WeakSet<object>()
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString()
    if (v instanceof Error) {
      const e = v as Error & { code?: unknown }
      return { name: e.name, message: e.message, ...(e.code !== undefined ? { code: e.code } : {}) }
    }
    if (v instanceof Map) return Object.fromEntries(v)
    if (v instanceof Set) return [...v]
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64')
    if (v !== null && typeof v === 'object') {
      if (seen.has(v)) return '[circular]'
      seen.add(v)
    }
    return v
  }) ?? 'null'
}

/** A field's value as text for a table cell, CSV or a template. */
export function fieldText(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  if (value instanceof Error) return `${value.name}: ${value.message}`
  return safeJson(value)
}
