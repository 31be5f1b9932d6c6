/**
 * The baseline of the shell scenario: GNU xargs running the same `true` commands with as many
 * in flight as the aque worker has CPUs (`xargs -P`). Shown in the memory group's table; the
 * aque systems' shell scenario also times it in its own child (`xargsSeconds`, `ratio`), so that
 * every group, Redis and PostgreSQL too, gets the ratio under the same load.
 */
import { spawn } from 'node:child_process'
import { nowMs } from '../lib/measure.mjs'

/**
 * Wall time of `xargs -P cpus -n 1 true` over `commands` lines, seconds (ms precision).
 * @param {number} commands
 * @param {number} cpus
 */
export async function xargsSeconds(commands, cpus) {
  const input = `${Array.from({ length: commands }, (_, i) => i).join('\n')}\n`
  const start = nowMs()
  await new Promise((resolve, reject) => {
    const child = spawn('xargs', ['-P', String(cpus), '-n', '1', 'true'], { stdio: ['pipe', 'ignore', 'inherit'] })
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(undefined) : reject(new Error(`xargs exited with ${code}`))))
    child.stdin.end(input)
  })
  return Math.round(nowMs() - start) / 1000
}

export default {
  name: 'xargs',
  group: 'memory',
  node: 'node20',
  scenarios: {
    /** @param {{ commands: number, cpus: number }} options */
    async shell({ commands, cpus }) {
      return { seconds: await xargsSeconds(commands, cpus) }
    },
  },
}
