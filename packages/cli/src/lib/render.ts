import type { TaskWithProblems } from '@aque/core'
import { UsageError } from './errors.js'
import { VIEW_FIELDS, commandOf, elapsedOf, fieldText, formatDuration, formatProgress, safeJson, viewOf } from './task-view.js'

/** A task placed in the tree: how deep it is nested and whether it closes its level. */
export interface TreeRow {
  task: TaskWithProblems
  depth: number
  /** For each ancestor level and this one: whether that entry was the last of its siblings. */
  lasts: boolean[]
}

/** Checks a `--csv` field list. */
export function parseFieldList(text: string): string[] {
  const fields = text.split(',').map((f) => f.trim()).filter((f) => f !== '')
  if (fields.length === 0) throw new UsageError('--csv: name at least one field')
  for (const f of fields) {
    if (!VIEW_FIELDS.has(f.split('.')[0] as string)) throw new UsageError(`--csv: unknown field "${f}" (fields: ${[...VIEW_FIELDS].join(', ')})`)
  }
  return fields
}

function pick(view: Record<string, unknown>, path: string): unknown {
  let value: unknown = view
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return null
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

export function csvHeader(fields: string[]): string {
  return fields.map(csvCell).join(',')
}

export function csvRow(task: TaskWithProblems, fields: string[]): string {
  const view = viewOf(task)
  return fields.map((f) => csvCell(fieldText(pick(view, f)))).join(',')
}

export function jsonLine(task: TaskWithProblems): string {
  return safeJson(viewOf(task))
}

/** Checks a `--format` template: `{field}` or `{a.b}`, `{{` and `}}` for braces, `\t` and `\n` escapes. */
export function compileTemplate(template: string): (task: TaskWithProblems) => string {
  const parts: Array<string | { field: string }> = []
  const re = /\{\{|\}\}|\{([^{}]*)\}|\\t|\\n|\\\\/g
  let last = 0
  const text = (slice: string) => {
    if (/[{}]/.test(slice)) throw new UsageError('--format: unbalanced "{" or "}" (write {{ or }} for a brace)')
    parts.push(slice)
  }
  for (let m = re.exec(template); m; m = re.exec(template)) {
    text(template.slice(last, m.index))
    const token = m[0]
    if (token === '{{') parts.push('{')
    else if (token === '}}') parts.push('}')
    else if (token === '\\t') parts.push('\t')
    else if (token === '\\n') parts.push('\n')
    else if (token === '\\\\') parts.push('\\')
    else {
      const field = (m[1] ?? '').trim()
      if (!VIEW_FIELDS.has(field.split('.')[0] as string)) throw new UsageError(`--format: unknown field "{${field}}" (fields: ${[...VIEW_FIELDS].join(', ')})`)
      parts.push({ field })
    }
    last = m.index + token.length
  }
  text(template.slice(last))
  return (task) => {
    const view = viewOf(task)
    return parts.map((p) => (typeof p === 'string' ? p : fieldText(pick(view, p.field)))).join('')
  }
}

function prefix(row: TreeRow): string {
  if (row.depth === 0) return ''
  let out = ''
  for (let level = 1; level < row.depth; level++) out += row.lasts[level] ? '   ' : '│  '
  return out + (row.lasts[row.depth] ? '└─ ' : '├─ ')
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`
}

/** What a group's row shows instead of its own (it completes at once): the state and count of its tasks. */
export interface GroupSummary {
  state: string
  done: number
  total: number
}

/** Sums up a group's tasks: running if any runs, else pending if any waits, else the worst outcome. */
export function summariseGroup(members: TaskWithProblems[]): GroupSummary {
  const states = new Set(members.map((m) => m.status))
  const done = members.filter((m) => m.status === 'success' || m.status === 'error' || m.status === 'killed').length
  const order = ['running', 'suspended', 'pending', 'creating', 'error', 'killed', 'success'] as const
  const state = order.find((s) => states.has(s)) ?? 'success'
  return { state, done, total: members.length }
}

/** The readable table: one line per task, dependencies nested under their dependents. */
export function renderTable(
  rows: TreeRow[],
  options: { showUser: boolean; width?: number | undefined; groups?: Map<number, GroupSummary> | undefined },
): string[] {
  const head = ['ID', 'STATE', ...(options.showUser ? ['USER'] : []), 'PROGRESS', 'ELAPSED', 'COMMAND']
  const now = Date.now()
  const body = rows.map((row) => {
    const t = row.task
    const group = options.groups?.get(t.id)
    const state = group ? group.state : t.reason && t.status === 'pending' ? 'pending*' : String(t.status ?? '?')
    const progress = group ? `${group.done}/${group.total} done` : formatProgress(t)
    return [String(t.id), state, ...(options.showUser ? [t.user ?? ''] : []), progress, group ? '' : formatDuration(elapsedOf(t, now)), prefix(row) + commandOf(t)]
  })
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : i === 0 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  const lines = [line(head), ...body.map(line)]
  return options.width ? lines.map((l) => truncate(l, options.width as number)) : lines
}
