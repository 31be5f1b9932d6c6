// CallBatcher: the calls of one turn of the event loop leave as one batch (one round trip for
// a broker), each caller gets its own result, and a failed batch fails each of its callers.
import { expect, it } from 'vitest'
import { CallBatcher } from '../src/index.js'

/** A batcher whose `run` records the batches it was given and answers `item * 10`. */
function recording(options: ConstructorParameters<typeof CallBatcher<number, number>>[1] = {}) {
  const batches: number[][] = []
  let gate: Promise<void> = Promise.resolve()
  const batcher = new CallBatcher<number, number>(async (items) => {
    batches.push(items)
    await gate
    return items.map((i) => i * 10)
  }, options)
  return {
    batcher,
    batches,
    /** Holds every batch sent from now on in flight until the returned function is called. */
    block(): () => void {
      let open = () => {}
      gate = new Promise<void>((r) => {
        open = r
      })
      return open
    },
  }
}

it('sends the calls of one turn together and answers each caller', async () => {
  const { batcher, batches } = recording()
  const results = await Promise.all([1, 2, 3].map((i) => batcher.add(i)))
  expect(results).toEqual([10, 20, 30])
  expect(batches).toEqual([[1, 2, 3]])
  // A later turn is a batch of its own.
  expect(await batcher.add(4)).toBe(40)
  expect(batches).toEqual([[1, 2, 3], [4]])
})

it('splits a turn into batches of at most maxSize, all sent in that turn', async () => {
  const { batcher, batches } = recording({ maxSize: 2 })
  await Promise.all([1, 2, 3, 4, 5].map((i) => batcher.add(i)))
  expect(batches).toEqual([[1, 2], [3, 4], [5]])
})

it('with maxInFlight, calls made while a batch is out go together in the next one', async () => {
  const { batcher, batches, block } = recording({ maxInFlight: 1 })
  const open = block()
  const first = batcher.add(1)
  await new Promise((r) => setImmediate(r))
  const later = [2, 3].map((i) => batcher.add(i))
  await new Promise((r) => setImmediate(r))
  expect(batches).toEqual([[1]])
  open()
  expect(await Promise.all([first, ...later])).toEqual([10, 20, 30])
  expect(batches).toEqual([[1], [2, 3]])
})

it('sends nothing while held; take() hands the waiting calls to another request', async () => {
  const { batcher, batches } = recording()
  batcher.hold()
  const a = batcher.add(1)
  const b = batcher.add(2)
  await new Promise((r) => setImmediate(r))
  expect(batches).toEqual([])
  expect(batcher.pending).toBe(2)
  const taken = batcher.take()
  expect(taken.items).toEqual([1, 2])
  taken.settle([7, 8])
  const c = batcher.add(3)
  batcher.release()
  expect(await Promise.all([a, b, c])).toEqual([7, 8, 30])
  expect(batches).toEqual([[3]])
  await batcher.idle()
})

it('peek() shows what waits; take(n) takes the oldest n, each part settled on its own', async () => {
  const { batcher, batches } = recording()
  batcher.hold()
  const calls = [1, 2, 3].map((i) => batcher.add(i))
  expect(batcher.peek()).toEqual([1, 2, 3])
  const first = batcher.take(2)
  const rest = batcher.take()
  expect([first.items, rest.items, batcher.peek()]).toEqual([[1, 2], [3], []])
  rest.settle({ error: new Error('lost') })
  first.settle([5, 6])
  expect(await Promise.all(calls.slice(0, 2))).toEqual([5, 6])
  await expect(calls[2]).rejects.toThrow('lost')
  batcher.release()
  await batcher.idle()
  expect(batches).toEqual([])
})

it('fails every caller of a failed batch, and goes on with the next', async () => {
  let fail = true
  const batcher = new CallBatcher<number, number>(async (items) => {
    if (fail) throw new Error('connection lost')
    return items
  })
  const calls = [1, 2].map((i) => batcher.add(i))
  for (const call of calls) await expect(call).rejects.toThrow('connection lost')
  fail = false
  expect(await batcher.add(3)).toBe(3)
})

it('fails the callers when run throws instead of rejecting', async () => {
  const batcher = new CallBatcher<number, number>(() => {
    throw new Error('not connected')
  })
  await expect(batcher.add(1)).rejects.toThrow('not connected')
  await batcher.idle()
})

it('flushes through the given defer (a broker corks its socket around it)', async () => {
  const deferred: Array<() => void> = []
  const batcher = new CallBatcher<number, number>(async (items) => items, { defer: (flush) => deferred.push(flush) })
  const a = batcher.add(1)
  const b = batcher.add(2)
  expect(deferred).toHaveLength(1)
  deferred[0]?.()
  expect(await Promise.all([a, b])).toEqual([1, 2])
})
