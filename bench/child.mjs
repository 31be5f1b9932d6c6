/**
 * Runs one scenario of one system in this (fresh) process and prints one JSON line with its
 * metrics plus `peakRssMB`:
 *   node bench/child.mjs <system> <scenario> '<json options>'
 *   node bench/child.mjs --describe <system>   (prints the system's name, group, node, version)
 * On failure it writes `bench-error: <message>` and the stack to stderr and exits with code 1.
 */
import { peakRssMB } from './lib/measure.mjs'
import { ERROR_PREFIX } from './lib/spawn.mjs'
import { loadSystem } from './lib/systems.mjs'
import { systemVersion } from './lib/versions.mjs'

/** @param {string[]} argv */
async function main(argv) {
  if (argv[0] === '--describe') return describe(argv[1] ?? '')
  const [systemName, scenario, json = '{}'] = argv
  if (!systemName || !scenario) throw new Error("usage: node bench/child.mjs <system> <scenario> '<json options>'")
  const system = await loadSystem(systemName)
  const run = system.scenarios[scenario]
  if (typeof run !== 'function') throw new Error(`${systemName} has no scenario "${scenario}"`)
  /** @type {Record<string, unknown>} */
  let options
  try {
    options = JSON.parse(json)
  } catch (err) {
    throw new Error(`options are not JSON: ${/** @type {Error} */ (err).message}`)
  }
  const metrics = await run(options)
  for (const [key, value] of Object.entries(metrics ?? {})) {
    if (typeof value !== 'number') throw new Error(`${systemName}/${scenario}: metric ${key} is not a number`)
  }
  // The scenario's own figure wins (memory measures right after its tasks finish).
  process.stdout.write(`${JSON.stringify({ peakRssMB: peakRssMB(), ...metrics })}\n`)
}

/** @param {string} name */
async function describe(name) {
  const system = await loadSystem(name)
  const { group, node, scenarios } = system
  const out = { name: system.name, group, node, version: systemVersion(system), scenarios: Object.keys(scenarios), nodeVersion: process.version }
  process.stdout.write(`${JSON.stringify(out)}\n`)
}

main(process.argv.slice(2)).then(
  // Exit explicitly: a client library may keep handles open after the scenario is done.
  () => process.exit(0),
  (err) => {
    // A refused connection is an AggregateError with an empty message: say what was refused.
    const inner = err instanceof AggregateError ? err.errors[0] : undefined
    const message = (err instanceof Error ? err.message : String(err)) || (inner instanceof Error ? inner.message : '')
    const code = /** @type {{ code?: unknown }} */ (err)?.code
    const line = `${typeof code === 'string' && !message.includes(code) ? `${code}: ` : ''}${message}`.replace(/\s+/g, ' ')
    process.stderr.write(`${ERROR_PREFIX}${line}\n${err instanceof Error ? (err.stack ?? '') : ''}\n`)
    process.exit(1)
  },
)
