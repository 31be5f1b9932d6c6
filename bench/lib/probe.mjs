/** Whether a group's server answers, checked once before its systems run. */
import { connect } from 'node:net'

/**
 * Resolves null if a TCP connection to host:port opens within `timeoutMs`, else the reason.
 * @param {{ host: string, port: number }} server
 * @param {number} [timeoutMs]
 * @returns {Promise<string | null>}
 */
export function probe({ host, port }, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const finish = (/** @type {string | null} */ why) => {
      socket.destroy()
      resolve(why)
    }
    socket.setTimeout(timeoutMs, () => finish(`no answer from ${host}:${port}`))
    socket.once('connect', () => finish(null))
    socket.once('error', (err) => finish(`unreachable ${host}:${port} (${/** @type {NodeJS.ErrnoException} */ (err).code ?? err.message})`))
  })
}
