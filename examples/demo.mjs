// The quick-start demo: a task graph run on the in-process memory broker, results printed.
import { Queue, Worker, execute, task } from '@aque/core'

const resize = task('resize', async (name, width) => {
  await new Promise((resolve) => setTimeout(resolve, 20)) // pretend to work
  return { name, width, bytes: width * 97 }
})
const totalBytes = task('totalBytes', (acc, image) => acc + image.bytes)

const queue = new Queue()
const worker = new Worker(await queue.broker(), { concurrency: 4 })
const running = worker.runForever()

// One call, one future.
const single = await queue.submit(resize, 'cover.png', 1024)
console.log('resize(cover.png, 1024) ->', await single.result())

// A graph: three thumbnails, a reduce over them, and a shell command after it.
const thumbs = ['a.png', 'b.png', 'c.png'].map((name) => ({ func: resize, args: [name, 160], name: `thumb ${name}` }))
const total = { pattern: 'reduce', func: totalBytes, args: [0], dependencies: thumbs, name: 'total' }
const [sumFuture, echoFuture] = await queue.submitMany([
  total,
  { pattern: 'shell', args: ['echo', 'thumbnails done'], dependencies: [total], name: 'announce' },
])
console.log('total bytes of the thumbnails ->', await sumFuture.result())
await echoFuture.result()
for await (const chunk of echoFuture.output()) process.stdout.write(`shell ${chunk.stream}: ${Buffer.from(chunk.data)}`)

// execute(): run a graph here and now, on a fresh broker, and get its result.
const squares = [1, 2, 3, 4].map((x) => ({ func: (n) => n * n, args: [x] }))
console.log('execute(map-reduce of squares 1..4) ->', await execute({ pattern: 'reduce', func: (a, b) => a + b, dependencies: squares }))

await worker.stop()
await running
