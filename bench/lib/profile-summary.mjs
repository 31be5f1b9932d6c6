/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time
 * and the most total (inclusive) time, and self time per file. Locations in dist/*.js are
 * mapped back to the TypeScript source through the source maps next to them.
 *   node bench/lib/profile-summary.mjs <file.cpuprofile> [--top 25] [--filter text] [--callers name]
 * `--filter` keeps the functions whose name or location contains the text; `--callers` shows,
 * for the functions of that name, which call paths (three frames up) their self time comes from;
 * `--lines` shows the source lines of the functions of that name that the samples fell on.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * @typedef {{ functionName: string, url: string, lineNumber: number, columnNumber: number }} CallFrame
 * @typedef {{ id: number, callFrame: CallFrame, children?: number[], positionTicks?: { line: number, ticks: number }[] }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }} Profile
 */

/** @type {Map<string, SourceMap | null>} */
const maps = new Map()

/** @param {string} url */
function sourceMapOf(url) {
  if (!maps.has(url)) {
    let map = null
    if (url.startsWith('file://')) {
      const path = `${fileURLToPath(url)}.map`
      if (existsSync(path)) map = new SourceMap(JSON.parse(readFileSync(path, 'utf8')))
    }
    maps.set(url, map)
  }
  return maps.get(url)
}

/**
 * "file:line" of a frame (1-based line), in the TypeScript source when a source map exists.
 * @param {CallFrame} frame
 */
export function locate(frame) {
  if (!frame.url) return '(native)'
  const map = sourceMapOf(frame.url)
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber)
  if (entry && 'originalSource' in entry && entry.originalSource) {
    // `sources` in the maps are relative to the compiled file.
    const source = fileURLToPath(new URL(entry.originalSource, frame.url))
    return `${relative(ROOT, source)}:${entry.originalLine + 1}`
  }
  const file = frame.url.startsWith('file://') ? relative(ROOT, fileURLToPath(frame.url)) : frame.url
  return `${file}:${frame.lineNumber + 1}`
}

/** @type {Map<string, string[]>} */
const fileLines = new Map()

/**
 * The text of a 1-based line of a file ('' when unreadable).
 * @param {string} path
 * @param {number} line
 */
function lineText(path, line) {
  if (!fileLines.has(path)) {
    let lines = []
    try {
      lines = readFileSync(path, 'utf8').split('\n')
    } catch {
      // node: internals and the like: no text.
    }
    fileLines.set(path, lines)
  }
  return (/** @type {string[]} */ (fileLines.get(path))[line - 1] ?? '').trim()
}

/**
 * "file:line  text" of a 1-based line of a compiled file, mapped from its first non-blank
 * column to the TypeScript source. Profile and files must be of the same build.
 * @param {string} url
 * @param {number} line
 */
function locateLine(url, line) {
  if (!url.startsWith('file://')) return `${url}:${line}`
  const compiled = lineText(fileURLToPath(url), line)
  const raw = fileLines.get(fileURLToPath(url))?.[line - 1] ?? ''
  const where = locate({ functionName: '', url, lineNumber: line - 1, columnNumber: Math.max(0, raw.search(/\S/)) })
  const match = /^(.*):(\d+)$/.exec(where)
  const text = match ? lineText(`${ROOT}${match[1]}`, Number(match[2])) || compiled : compiled
  return `${where}  ${text.slice(0, 100)}`
}

/**
 * Self and total ms per function (name + location), and self ms per file.
 * @param {Profile} profile
 */
export function summarise(profile) {
  /** @type {Map<number, ProfileNode>} */
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  /** @type {Map<number, number>} */
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  /** @type {Map<number, number>} self µs per node id */
  const selfUs = new Map()
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })

  /** @param {ProfileNode} n */
  const key = (n) => `${n.callFrame.functionName || '(anonymous)'} ${locate(n.callFrame)}`
  /** @type {Map<string, { self: number, total: number }>} */
  const fns = new Map()
  /** @type {Map<string, number>} */
  const files = new Map()
  let totalUs = 0
  for (const [id, us] of selfUs) {
    const node = /** @type {ProfileNode} */ (byId.get(id))
    totalUs += us
    const k = key(node)
    const f = fns.get(k) ?? { self: 0, total: 0 }
    f.self += us
    fns.set(k, f)
    const file = locate(node.callFrame).replace(/:\d+$/, '')
    files.set(file, (files.get(file) ?? 0) + us)
    // Inclusive time: each function on the stack once, however often it recurses.
    const seen = new Set()
    for (let cur = /** @type {number | undefined} */ (id); cur !== undefined; cur = parent.get(cur)) {
      const k2 = key(/** @type {ProfileNode} */ (byId.get(cur)))
      if (seen.has(k2)) continue
      seen.add(k2)
      const g = fns.get(k2) ?? { self: 0, total: 0 }
      g.total += us
      fns.set(k2, g)
    }
  }
  /**
   * Self time of the functions named `name`, by the three frames that called them.
   * @param {string} name
   */
  const callers = (name) => {
    /** @type {Map<string, number>} */
    const paths = new Map()
    for (const [id, us] of selfUs) {
      const node = /** @type {ProfileNode} */ (byId.get(id))
      if (node.callFrame.functionName !== name) continue
      const chain = []
      for (let cur = parent.get(id); cur !== undefined && chain.length < 3; cur = parent.get(cur)) chain.push(key(/** @type {ProfileNode} */ (byId.get(cur))))
      const k = chain.join(' <- ')
      paths.set(k, (paths.get(k) ?? 0) + us)
    }
    return paths
  }
  /**
   * Sampled ticks of the functions named `name`, by source line.
   * @param {string} name
   */
  const lines = (name) => {
    /** @type {Map<string, number>} */
    const out = new Map()
    for (const node of profile.nodes) {
      if (node.callFrame.functionName !== name) continue
      for (const { line, ticks } of node.positionTicks ?? []) {
        const k = locateLine(node.callFrame.url, line)
        out.set(k, (out.get(k) ?? 0) + ticks)
      }
    }
    return out
  }
  return { totalUs, fns, files, callers, lines }
}

/**
 * Compiled files of the profile, and the sources they map to, that changed after it was
 * written: their line numbers and texts no longer match what ran.
 * @param {string} file the .cpuprofile
 */
function staleFiles(file) {
  const taken = statSync(file).mtimeMs
  /** @type {ProfileNode[]} */
  const nodes = JSON.parse(readFileSync(file, 'utf8')).nodes
  const urls = new Set(nodes.map((n) => n.callFrame.url).filter((u) => u.startsWith('file://')))
  const mtime = (/** @type {string} */ p) => (existsSync(p) ? statSync(p).mtimeMs : 0)
  /** @type {Set<string>} */
  const stale = new Set()
  for (const url of urls) {
    const compiled = fileURLToPath(url)
    if (mtime(compiled) > taken) stale.add(compiled)
    // A source edited after its build: the map points at lines of the older text.
    for (const source of sourceMapOf(url)?.payload.sources ?? []) {
      const path = fileURLToPath(new URL(source, url))
      if (mtime(path) > Math.min(taken, mtime(compiled))) stale.add(path)
    }
  }
  return [...stale].map((p) => relative(ROOT, p))
}

function main() {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, filter: { type: 'string' }, callers: { type: 'string' }, lines: { type: 'string' } } })
  const file = positionals[0]
  if (!file) throw new Error('usage: node bench/lib/profile-summary.mjs <file.cpuprofile> [--top 25] [--filter text]')
  const top = Number(values.top)
  const stale = staleFiles(file)
  if (stale.length > 0) console.log(`warning: changed since the build that was profiled, so these lines may be off: ${stale.join(', ')}\n`)
  const { totalUs, fns, files, callers, lines } = summarise(JSON.parse(readFileSync(file, 'utf8')))
  const pct = (/** @type {number} */ us) => `${((us / totalUs) * 100).toFixed(1).padStart(5)}%`
  const ms = (/** @type {number} */ us) => `${(us / 1000).toFixed(0).padStart(7)} ms`
  if (values.callers) {
    console.log(`self time of ${values.callers}, by caller (three frames up):`)
    for (const [k, us] of [...callers(values.callers)].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${k}`)
    return
  }
  if (values.lines) {
    console.log(`samples of ${values.lines}, by source line:`)
    for (const [k, n] of [...lines(values.lines)].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${String(n).padStart(6)}  ${k}`)
    return
  }
  const rows = [...fns].filter(([k]) => !values.filter || k.includes(values.filter))
  console.log(`profile ${file}: ${(totalUs / 1000).toFixed(0)} ms sampled\n\nself time, by function:`)
  for (const [k, v] of rows.sort((a, b) => b[1].self - a[1].self).slice(0, top)) console.log(`${ms(v.self)} ${pct(v.self)}  ${k}`)
  console.log('\ntotal (inclusive) time, by function:')
  for (const [k, v] of rows.sort((a, b) => b[1].total - a[1].total).slice(0, top)) console.log(`${ms(v.total)} ${pct(v.total)}  ${k}`)
  console.log('\nself time, by file:')
  for (const [f, us] of [...files].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${f}`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main()
