/** Versions shown under the tables: aque's and each peer's package version. */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** Where peers are installed: the workspace root, and bench/node22 for the Node 22 ones. */
const NODE_MODULES = [`${ROOT}node_modules/`, `${ROOT}bench/node22/node_modules/`]

/**
 * The version field of a package.json, or undefined.
 * @param {string} path
 * @returns {string | undefined}
 */
function versionAt(path) {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')).version
    return typeof v === 'string' ? v : undefined
  } catch {
    return undefined
  }
}

/** @returns {string} the version of @aque/core */
export function aqueVersion() {
  return versionAt(`${ROOT}packages/core/package.json`) ?? 'unknown'
}

/**
 * A system's version: its own `version` export, else aque's for `aque-*` systems, else the
 * version of the installed package named like the system.
 * @param {{ name: string, version?: string }} system
 * @returns {string}
 */
export function systemVersion(system) {
  if (system.version) return system.version
  if (system.name.startsWith('aque')) return aqueVersion()
  for (const dir of NODE_MODULES) {
    const v = versionAt(`${dir}${system.name}/package.json`)
    if (v) return v
  }
  return 'unknown'
}
