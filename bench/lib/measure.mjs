/**
 * Timing and statistics helpers shared by the harness and the system modules.
 * Times are taken with `process.hrtime.bigint()` (monotonic, ns resolution).
 */

/** Monotonic time in ms (fractional). @returns {number} */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6
}

/** Monotonic time in µs (fractional). @returns {number} */
export function nowUs() {
  return Number(process.hrtime.bigint()) / 1e3
}

/**
 * The value at quantile `q` (0..1) of numbers already sorted ascending (nearest rank).
 * @param {number[]} sorted
 * @param {number} q
 * @returns {number}
 */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil(q * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]
}

/**
 * p50/p90/p99 of latency samples in µs, rounded to 0.1 µs.
 * @param {number[]} samplesUs
 * @returns {{ p50us: number, p90us: number, p99us: number }}
 */
export function latencyPercentiles(samplesUs) {
  const sorted = [...samplesUs].sort((a, b) => a - b)
  const round = (/** @type {number} */ x) => Math.round(x * 10) / 10
  return { p50us: round(quantile(sorted, 0.5)), p90us: round(quantile(sorted, 0.9)), p99us: round(quantile(sorted, 0.99)) }
}

/**
 * Median of numbers (NaN for none); ignores non-finite values.
 * @param {number[]} values
 * @returns {number}
 */
export function median(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Tasks per second for `count` tasks in `ms` milliseconds, rounded.
 * @param {number} count
 * @param {number} ms
 * @returns {number}
 */
export function perSecond(count, ms) {
  return Math.round((count * 1000) / ms)
}

/**
 * Peak resident set size of this process so far, MB (maxRSS is in KiB on Linux).
 * @returns {number}
 */
export function peakRssMB() {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10
}

/** @param {number} x rounded to 2 decimals */
export const round2 = (x) => Math.round(x * 100) / 100

/**
 * The backlog comparison every system makes: `drain(side)` (ms) timed on an empty side and a
 * loaded one in alternation, `rounds` measured rounds after one unmeasured round each, so that
 * a busy spell of the machine lands on both sides alike. Returns the medians and their ratio.
 * @template S
 * @param {S} empty
 * @param {S} loaded
 * @param {number} rounds
 * @param {(side: S) => Promise<number>} drain
 */
export async function alternatingBacklog(empty, loaded, rounds, drain) {
  /** @type {number[]} */
  const emptyTimes = []
  /** @type {number[]} */
  const loadedTimes = []
  for (let r = -1; r < rounds; r++) {
    for (const [side, times] of /** @type {const} */ ([
      [empty, emptyTimes],
      [loaded, loadedTimes],
    ])) {
      const ms = await drain(side)
      if (r >= 0) times.push(ms)
    }
  }
  const emptyMs = median(emptyTimes)
  const backlogMs = median(loadedTimes)
  return { emptyMs: round2(emptyMs), backlogMs: round2(backlogMs), ratio: round2(backlogMs / emptyMs) }
}
