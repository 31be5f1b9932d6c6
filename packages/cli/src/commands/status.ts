import type { Command } from 'commander'
import type { Broker, TaskField, TaskWithProblems } from '@aque/core'
import { type GlobalOptions, openBroker } from '../lib/broker.js'
import { compileFilter } from '../lib/filter.js'
import { buildTree, listingRoots } from '../lib/graph.js'
import { fetchExisting, parseIds } from '../lib/ids.js'
import { fieldsFor, listTasks } from '../lib/listing.js'
import { write } from '../lib/output.js'
import { type GroupSummary, type TreeRow, compileTemplate, csvHeader, csvRow, jsonLine, parseFieldList, renderTable, summariseGroup } from '../lib/render.js'
import { VIEW_FIELDS, viewOf } from '../lib/task-view.js'
import { positiveInteger } from '../lib/task-options.js'
import { watchStatus } from './status-watch.js'

interface StatusOptions {
  csv?: string
  json?: boolean
  format?: string
  filter?: string
  depth?: number
  flat?: boolean
  allUsers?: boolean
  watch?: boolean
}

function nonNegative(value: string): number {
  return value === '0' ? 0 : positiveInteger('--depth')(value)
}

/** The state and count of the tasks of each group shown (a group itself completes at once). */
async function groupSummaries(broker: Broker, rows: TreeRow[], known: Map<number, TaskWithProblems>, fields: TaskField[] | undefined): Promise<Map<number, GroupSummary>> {
  const out = new Map<number, GroupSummary>()
  const byParent = new Map<number, TaskWithProblems[]>()
  for (const t of known.values()) if (typeof t.parent === 'number') byParent.set(t.parent, [...(byParent.get(t.parent) ?? []), t])
  for (const { task } of rows) {
    if (task.pattern !== null || out.has(task.id)) continue
    let members = byParent.get(task.id)
    if (!members) {
      members = []
      for await (const m of broker.search({ parent: task.id }, { fields: fields ?? ['id', 'status'] })) members.push(m)
    }
    if (members.length > 0) out.set(task.id, summariseGroup(members))
  }
  return out
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .summary('show tasks: a table, CSV, JSON lines or a template; --watch for a live view')
    .description(
      'Show tasks: the given ones, or all of yours. The table nests dependencies (and the members of a group) under the task that needs them; --csv, --json and --format print one task per line.',
    )
    .argument('[ids...]', 'task ids (default: all your tasks)')
    .option('--csv <fields>', 'CSV with a header: the comma-separated fields')
    .option('--json', 'one JSON object per task and line')
    .option('--format <template>', 'one line per task from a template: "{id}\\t{status}\\t{command}"')
    .option('--filter <expr>', 'only tasks where the expression holds: status == "error" and priority > 1000')
    .option('-d, --depth <n>', 'nest dependencies this many levels deep (default: all)', nonNegative)
    .option('--flat', 'list tasks one per line, no nesting')
    .option('-x, --all-users', "show every user's tasks, not only yours")
    .option('--watch', 'a live view, redrawn as tasks change (q or Ctrl-C to quit)')
    .addHelpText(
      'after',
      `
Fields (for --csv, --format and --filter): ${[...VIEW_FIELDS].join(', ')}.
--filter supports == != < <= > >=, and, or, not, parentheses, "strings", numbers,
true/false/null, "in [..]" and dotted fields (progress.done). It is never evaluated as code.

Examples:
  $ aque status
  $ aque status 12 --depth 1
  $ aque status --csv id,status,elapsed 12 13
  $ aque status --filter 'status == "error" and priority > 1000' -x
  $ aque status --format '{id}\\t{status}\\t{command}'
  $ aque status --json | jq .status
  $ aque status --watch`,
    )
    .action(async (idArgs: string[], options: StatusOptions, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOptions>()
      const ids = parseIds(idArgs)
      const filter = options.filter !== undefined ? compileFilter(options.filter, VIEW_FIELDS) : null
      const csvFields = options.csv !== undefined ? parseFieldList(options.csv) : null
      const template = options.format !== undefined ? compileTemplate(options.format) : null
      const broker = await openBroker(global, 'status', 'shared')
      if (options.watch) return watchStatus(broker, { allUsers: Boolean(options.allUsers) })
      const fields = fieldsFor(Boolean(options.json), [...(csvFields ?? []), ...(options.filter?.match(/[A-Za-z_]\w*/g) ?? []), ...(options.format?.match(/\{([^{}]*)\}/g) ?? []).map((s) => s.slice(1, -1).trim())])
      const flat = Boolean(options.flat || options.json || csvFields || template || filter)
      let rows: TreeRow[]
      let known: Map<number, TaskWithProblems>
      if (ids.length > 0) {
        known = await fetchExisting(broker, ids, fields)
        rows = flat ? ids.map((id) => ({ task: known.get(id) as TaskWithProblems, depth: 0, lasts: [true] })) : await buildTree(broker, ids, known, { depth: options.depth ?? Number.POSITIVE_INFINITY, fields })
      } else {
        known = await listTasks(broker, { allUsers: Boolean(options.allUsers), fields })
        if (flat) rows = [...known.values()].map((task) => ({ task, depth: 0, lasts: [true] }))
        else {
          const { roots, members } = listingRoots(known)
          rows = await buildTree(broker, roots, known, { depth: options.depth ?? Number.POSITIVE_INFINITY, fields, members })
        }
      }
      if (filter) rows = rows.filter((r) => filter(viewOf(r.task)))
      let lines: string[]
      if (csvFields) lines = [csvHeader(csvFields), ...rows.map((r) => csvRow(r.task, csvFields))]
      else if (options.json) lines = rows.map((r) => jsonLine(r.task))
      else if (template) lines = rows.map((r) => template(r.task))
      else {
        const groups = await groupSummaries(broker, rows, known, fields)
        lines = rows.length === 0 ? [] : renderTable(rows, { showUser: Boolean(options.allUsers), width: process.stdout.isTTY ? process.stdout.columns : undefined, groups })
      }
      if (lines.length > 0) await write(process.stdout, `${lines.join('\n')}\n`)
    })
}
