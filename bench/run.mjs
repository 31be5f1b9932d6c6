/**
 * The benchmark harness (`npm run bench`): runs every selected (system, scenario) pair
 * `--runs` times, each in a fresh child process under the system's Node, prints one table of
 * medians per broker group and writes the raw results to bench/results/<date>.json.
 * See bench/README.md.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { USAGE, UsageError, parseBenchArgs } from './lib/args.mjs'
import { ensureNode22, nodeBinary } from './lib/node.mjs'
import { GROUP_OPTIONS, GROUP_SERVERS } from './lib/options.mjs'
import { probe } from './lib/probe.mjs'
import { runChild } from './lib/spawn.mjs'
import { GROUPS, SCENARIOS, systemNames } from './lib/systems.mjs'
import { renderGroup, renderVersions } from './lib/table.mjs'
import { aqueVersion } from './lib/versions.mjs'

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url))
/** Bound of a `--describe` child, ms: it only imports the module. */
const DESCRIBE_TIMEOUT_MS = 60_000

/** @typedef {import('./lib/table.mjs').SystemInfo} SystemInfo */
/** @typedef {import('./lib/table.mjs').RunRecord} RunRecord */

/** @param {string} text */
const log = (text) => process.stderr.write(`${text}\n`)

/**
 * Reads a system's name, group, Node and version in a child: under Node 20 first, then under
 * Node 22 (a module of a Node 22 peer may not even load under 20). The harness itself never
 * imports system modules, so their side effects stay out of it.
 * @param {string} name
 * @returns {Promise<SystemInfo | { name: string, error: string }>}
 */
async function describe(name) {
  const first = await runChild(process.execPath, ['--describe', name], { timeoutMs: DESCRIBE_TIMEOUT_MS })
  if (first.ok) {
    if (first.value.node !== 'node22') return first.value
  }
  try {
    const second = await runChild(await nodeBinary('node22'), ['--describe', name], { timeoutMs: DESCRIBE_TIMEOUT_MS })
    if (second.ok) return second.value
    return { name, error: first.ok ? second.error : first.error }
  } catch (err) {
    return { name, error: /** @type {Error} */ (err).message }
  }
}

/** @param {string[]} argv */
async function main(argv) {
  const args = parseBenchArgs(argv)
  if (args.help) {
    console.log(USAGE)
    return
  }
  const known = await systemNames()
  const unknown = args.systems?.find((s) => !known.includes(s))
  if (unknown) throw new UsageError(`--systems: no bench/systems/${unknown}.mjs (known: ${known.join(', ')})`)
  const names = args.systems ?? known

  if (names.length > 0) log(`bench: reading ${names.length} system module(s)…`)
  const described = await Promise.all(names.map(describe))
  /** @type {SystemInfo[]} */
  const systems = []
  for (const d of described) {
    if ('error' in d) log(`bench: system ${d.name} cannot be loaded: ${d.error}`)
    else if (!args.group || d.group === args.group) systems.push(d)
  }
  if (systems.some((s) => s.node === 'node22')) await ensureNode22().catch((err) => log(`bench: ${err.message}`))

  const scenarios = args.scenarios ?? [...SCENARIOS]
  const groups = GROUPS.filter((g) => systems.some((s) => s.group === g))
  /** @type {RunRecord[]} */
  const records = []
  for (const group of groups) {
    const members = systems.filter((s) => s.group === group)
    const server = /** @type {Record<string, { host: string, port: number }>} */ (GROUP_SERVERS)[group]
    const down = server ? await probe(server) : null
    if (down) {
      log(`bench: ${group}: ${down}`)
      for (const s of members) s.unreachable = down
      continue
    }
    /** @type {Array<[SystemInfo, string]>} */
    const pairs = members.flatMap((s) => scenarios.filter((sc) => s.scenarios.includes(sc)).map((sc) => /** @type {[SystemInfo, string]} */ ([s, sc])))
    const total = pairs.length * args.runs
    let n = 0
    // Runs are interleaved (all pairs once, then again), so a drift of the machine spreads
    // over every system rather than landing on one.
    for (let run = 1; run <= args.runs; run++) {
      for (const [system, scenario] of pairs) {
        n++
        const options = GROUP_OPTIONS[group][scenario]
        /** @type {RunRecord} */
        let record
        try {
          const node = await nodeBinary(/** @type {'node20' | 'node22'} */ (system.node))
          const result = await runChild(node, [system.name, scenario, JSON.stringify(options)], { timeoutMs: args.timeout * 1000 })
          record = result.ok
            ? { system: system.name, scenario, run, ok: true, value: result.value, ms: result.ms }
            : { system: system.name, scenario, run, ok: false, error: result.error, ms: result.ms }
        } catch (err) {
          record = { system: system.name, scenario, run, ok: false, error: /** @type {Error} */ (err).message, ms: 0 }
        }
        records.push(record)
        log(`[${n}/${total}] ${group} ${system.name} ${scenario} run ${run}: ${record.ok ? JSON.stringify(record.value) : `ERROR ${record.error}`}`)
      }
    }
  }

  const aque = aqueVersion()
  const document = {
    date: new Date().toISOString(),
    args,
    options: GROUP_OPTIONS,
    versions: { node: process.version, aque },
    systems,
    notLoaded: described.filter((d) => 'error' in d),
    runs: records,
  }
  await mkdir(RESULTS_DIR, { recursive: true })
  const file = `${RESULTS_DIR}${document.date.replace(/:/g, '-')}.json`
  await writeFile(file, `${JSON.stringify(document, null, 2)}\n`)

  if (args.json) {
    process.stdout.write(`${JSON.stringify(document)}\n`)
  } else {
    const tables = groups.map((g) =>
      renderGroup(
        g,
        systems.filter((s) => s.group === g),
        records.filter((r) => systems.some((s) => s.name === r.system && s.group === g)),
      ),
    )
    console.log(`\n${tables.join('\n\n')}\n\nmedians of ${args.runs} run(s), each in a fresh process; ${renderVersions(systems, aque)}`)
    if (groups.length === 0) console.log('no system to run')
  }
  log(`bench: raw results in ${file}`)
}

main(process.argv.slice(2)).catch((err) => {
  log(`bench: ${err instanceof Error ? err.message : String(err)}`)
  if (err instanceof UsageError) log(USAGE)
  process.exitCode = 2
})
