/**
 * Discovery and validation of system modules (bench/systems/<name>.mjs). See bench/README.md
 * for the interface.
 */
import { readdir } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { z } from 'zod'

export const SYSTEMS_DIR = fileURLToPath(new URL('../systems/', import.meta.url))
export const GROUPS = /** @type {const} */ (['memory', 'redis', 'postgres'])
export const SCENARIOS = /** @type {const} */ (['drain', 'latency', 'backlog', 'memory', 'shell'])

/**
 * @typedef {(options: any) => Promise<Record<string, number>>} Scenario
 * @typedef {{
 *   name: string,
 *   group: 'memory' | 'redis' | 'postgres',
 *   node: 'node20' | 'node22',
 *   version?: string,
 *   scenarios: Partial<Record<string, Scenario>>,
 * }} System
 */

const systemSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a kebab-case name'),
  group: z.enum(GROUPS),
  node: z.enum(['node20', 'node22']).default('node20'),
  version: z.string().optional(),
  scenarios: z.partialRecord(
    z.enum(SCENARIOS),
    z.custom((v) => typeof v === 'function', 'expected an async function'),
  ),
})

/**
 * Names of the system modules, from the file names in bench/systems.
 * @returns {Promise<string[]>}
 */
export async function systemNames() {
  const files = await readdir(SYSTEMS_DIR)
  return files
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => f.slice(0, -4))
    .sort()
}

/**
 * Imports and validates bench/systems/<name>.mjs.
 * @param {string} name
 * @returns {Promise<System>}
 */
export async function loadSystem(name) {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`system "${name}": not a system name`)
  const mod = await import(pathToFileURL(`${SYSTEMS_DIR}${name}.mjs`).href)
  const parsed = systemSchema.safeParse(mod.default)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`system "${name}": ${issue?.path.join('.') || 'default export'}: ${issue?.message}`)
  }
  return /** @type {System} */ ({ ...parsed.data, scenarios: mod.default.scenarios })
}
