import { Queue, Worker, task } from '@aque/core'

// A task definition: workers find it by name when they import this module.
export const square = task('square', async (x: number) => x * x)
export const add = task('add', (a: number, b: number) => a + b)

export async function main(): Promise<number> {
  const queue = new Queue() // broker from $AQUE_BROKER, else the in-process memory broker
  const worker = new Worker(await queue.broker())
  const running = worker.runForever()

  const four = await queue.submit(square, 2) // Future<number>
  console.log('2² =', await four.result({ timeout: 10_000 }))

  // A small graph: four squares, then a reduce over their results.
  const squares = [1, 2, 3, 4].map((x) => ({ func: square, args: [x] }))
  const total = await queue.submitEx<number>({ pattern: 'reduce', func: add, dependencies: squares })
  const sum = await total.result()
  console.log('1² + 2² + 3² + 4² =', sum)

  await worker.stop()
  await running
  return sum
}
