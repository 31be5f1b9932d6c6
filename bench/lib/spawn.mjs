/**
 * Runs bench/child.mjs in a fresh process, bounded in time, and reads its one JSON line.
 * A failure (exit code, signal, timeout, no JSON) comes back as `{ ok: false, error }`, never
 * as a thrown error, so one broken system never stops the run.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { lastLine } from './node.mjs'

export const CHILD = fileURLToPath(new URL('../child.mjs', import.meta.url))
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** The line prefix child.mjs gives the one-line message of its error, on stderr. */
export const ERROR_PREFIX = 'bench-error: '

/**
 * @typedef {{ ok: true, value: any, ms: number } | { ok: false, error: string, ms: number }} ChildResult
 */

/**
 * @param {string} node the Node binary
 * @param {string[]} args arguments of child.mjs
 * @param {{ timeoutMs: number, nodeArgs?: string[] }} options
 * @returns {Promise<ChildResult>}
 */
export function runChild(node, args, { timeoutMs, nodeArgs = [] }) {
  const started = Date.now()
  return new Promise((resolve) => {
    // Own process group, so a timeout also ends whatever the child started.
    const child = spawn(node, [...nodeArgs, CHILD, ...args], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr = (stderr + d).slice(-64 * 1024)
    })
    const timer = setTimeout(() => {
      timedOut = true
      kill(child.pid)
    }, timeoutMs)
    const done = (/** @type {ChildResult} */ result) => {
      clearTimeout(timer)
      resolve(result)
    }
    child.on('error', (err) => done({ ok: false, error: `cannot start ${node}: ${err.message}`, ms: Date.now() - started }))
    child.on('close', (code, signal) => {
      const ms = Date.now() - started
      if (timedOut) return done({ ok: false, error: `timed out after ${Math.round(timeoutMs / 1000)} s`, ms })
      const value = lastJsonLine(stdout)
      if (code === 0 && value !== undefined) return done({ ok: true, value, ms })
      const marked = stderr.split('\n').find((l) => l.startsWith(ERROR_PREFIX))
      const why = marked ? marked.slice(ERROR_PREFIX.length) : lastLine(stderr) || (signal ? `killed by ${signal}` : `exit code ${code}, no JSON line`)
      done({ ok: false, error: why, ms })
    })
  })
}

/** @param {number | undefined} pid */
function kill(pid) {
  if (pid === undefined) return
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
}

/**
 * The last stdout line that is a JSON object (a system may log other lines).
 * @param {string} text
 */
function lastJsonLine(text) {
  const lines = text.trim().split('\n').reverse()
  for (const line of lines) {
    if (!line.startsWith('{')) continue
    try {
      return JSON.parse(line)
    } catch {
      // Not JSON after all: keep looking.
    }
  }
  return undefined
}
