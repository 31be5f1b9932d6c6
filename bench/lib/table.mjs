/**
 * The tables printed by run.mjs: one per group, rows = systems, columns = metric medians.
 * Failed runs become footnote markers, so a table never hides an error and never aborts.
 */
import { median } from './measure.mjs'

/**
 * @typedef {{ system: string, scenario: string, run: number, ok: boolean, value?: Record<string, number>, error?: string, ms: number }} RunRecord
 * @typedef {{ name: string, group: string, node: string, version: string, nodeVersion: string, scenarios: string[], unreachable?: string }} SystemInfo
 */

/** Columns: label, the scenario and metric read, how to print it. `peakRssMB` falls back to drain. */
const COLUMNS = [
  { label: 'drain tasks/s', scenario: 'drain', metric: 'tasksPerSec', digits: 0 },
  { label: 'batched drain tasks/s', scenario: 'drain', metric: 'batchedTasksPerSec', digits: 0 },
  { label: 'submit tasks/s', scenario: 'drain', metric: 'submitPerSec', digits: 0 },
  { label: 'latency p50 µs', scenario: 'latency', metric: 'p50us', digits: 1 },
  { label: 'p90 µs', scenario: 'latency', metric: 'p90us', digits: 1 },
  { label: 'p99 µs', scenario: 'latency', metric: 'p99us', digits: 1 },
  { label: 'backlog ratio', scenario: 'backlog', metric: 'ratio', digits: 2 },
  { label: 'peak RSS MB', scenario: 'memory', metric: 'peakRssMB', digits: 0, fallback: 'drain' },
  { label: '1,000 × true s', scenario: 'shell', metric: 'seconds', digits: 2 },
  { label: '× xargs -P2', scenario: 'shell', metric: 'ratio', digits: 2 },
]

/**
 * @param {number} value
 * @param {number} digits
 */
function format(value, digits) {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/**
 * Renders the table of one group as Markdown, with footnotes for failures.
 * @param {string} group
 * @param {SystemInfo[]} systems of this group
 * @param {RunRecord[]} records of this group's systems
 * @returns {string}
 */
export function renderGroup(group, systems, records) {
  /** @type {string[]} */
  const notes = []
  /** @param {string} text */
  const note = (text) => {
    let i = notes.indexOf(text)
    if (i < 0) i = notes.push(text) - 1
    return `[${i + 1}]`
  }
  const allHeader = ['system', ...COLUMNS.map((c) => c.label)]
  const allRows = systems.map((s) => {
    if (s.unreachable) return [s.name, `unreachable ${note(`${group} server ${s.unreachable}: nothing was run`)}`, ...COLUMNS.slice(1).map(() => '—')]
    return [s.name, ...COLUMNS.map((c) => cell(s, c, records, note))]
  })
  // A column no system of the group has (e.g. Graphile's batched drain elsewhere) is left out.
  const keep = allHeader.map((_, i) => i === 0 || allRows.some((r) => r[i] !== '—'))
  const header = allHeader.filter((_, i) => keep[i])
  const rows = allRows.map((r) => r.filter((_, i) => keep[i]))
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (/** @type {string[]} */ cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`
  const out = [`### ${group}`, '', line(header), `|${widths.map((w, i) => (i === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`]
  for (const r of rows) out.push(line(r))
  if (notes.length > 0) out.push('', ...notes.map((n, i) => `[${i + 1}] ${n}`))
  return out.join('\n')
}

/**
 * The median of one column for one system, or '—' (not run), or a footnote for failures.
 * @param {SystemInfo} system
 * @param {(typeof COLUMNS)[number]} column
 * @param {RunRecord[]} records
 * @param {(text: string) => string} note
 */
function cell(system, column, records, note) {
  let scenario = column.scenario
  let mine = records.filter((r) => r.system === system.name && r.scenario === scenario)
  if (mine.length === 0 && column.fallback) {
    scenario = column.fallback
    mine = records.filter((r) => r.system === system.name && r.scenario === scenario)
  }
  if (mine.length === 0) return '—'
  const failed = mine.filter((r) => !r.ok)
  const values = mine.flatMap((r) => (r.ok && typeof r.value?.[column.metric] === 'number' ? [r.value[column.metric]] : []))
  const marker = failed.length > 0 ? ` ${note(`${system.name} ${scenario}: ${failed.length} of ${mine.length} runs failed: ${failed[0].error}`)}` : ''
  if (values.length === 0) return failed.length > 0 ? `error${marker}` : '—'
  return `${format(median(values), column.digits)}${marker}`
}

/**
 * The versions line: Node(s), aque, and every peer's version.
 * @param {SystemInfo[]} systems
 * @param {string} aque
 */
export function renderVersions(systems, aque) {
  const nodes = [...new Set([process.version, ...systems.map((s) => s.nodeVersion).filter(Boolean)])]
  const peers = systems.filter((s) => !s.name.startsWith('aque')).map((s) => `${s.name} ${s.version}`)
  return `versions: node ${nodes.join(' / ')}, aque ${aque}${peers.length ? `, ${peers.join(', ')}` : ''}`
}
