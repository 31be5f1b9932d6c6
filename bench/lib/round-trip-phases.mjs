/**
 * Shared by the round-trip phase profiles (bench/profiles/*-round-trip-phases.mjs): each hooks
 * the steps it wants to see with `mark(step)`, then `timeRoundTrips` runs sequential submit →
 * await round trips of a task, and `printPhases` groups them by their sequence of steps and
 * prints, for the commonest sequences, each step as the median time since the step before it.
 */

/** @typedef {{ start: number, end: number, events: [string, number][] }} Trip */

/** @type {[string, number][]} */
let events = []

/** Records `step` (now) in the round trip under way. */
export function mark(step) {
  events.push([step, performance.now()])
}

/**
 * @param {import('@aque/core').Queue} queue
 * @param {unknown} func the task to submit
 * @param {number} n round trips
 * @returns {Promise<Trip[]>}
 */
export async function timeRoundTrips(queue, func, n) {
  /** @type {Trip[]} */
  const trips = []
  for (let i = 0; i < n; i++) {
    events = []
    const start = performance.now()
    const future = await queue.submit(/** @type {never} */ (func))
    mark('submitted')
    await future.result()
    trips.push({ start, end: performance.now(), events })
  }
  return trips
}

/** @param {number[]} xs */
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]
/** @param {number} ms */
const µs = (ms) => `${Math.round(ms * 1000)} µs`
/** @param {Trip} t */
const shapeOf = (t) => t.events.map((e) => e[0]).join(',')

/**
 * @param {Trip[]} trips
 * @param {number} shown how many sequences to print, commonest first (others: a reply split in two reads, a message before a reply…)
 */
export function printPhases(trips, shown = 1) {
  const shapes = new Map()
  for (const t of trips) shapes.set(shapeOf(t), (shapes.get(shapeOf(t)) ?? 0) + 1)
  for (const [shape, count] of [...shapes].sort((a, b) => b[1] - a[1]).slice(0, shown)) {
    const same = trips.filter((t) => shapeOf(t) === shape)
    const parts = shape.split(',').map((step, k) => `${step} +${µs(median(same.map((t) => t.events[k][1] - (k === 0 ? t.start : t.events[k - 1][1]))))}`)
    parts.push(`resolved +${µs(median(same.map((t) => t.end - t.events[t.events.length - 1][1])))}`)
    console.log(`${count} of ${trips.length} round trips went: ${parts.join(', ')}`)
  }
  console.log(`round trip p50 ${µs(median(trips.map((t) => t.end - t.start)))}`)
}
