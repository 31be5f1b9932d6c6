import { type BaseBroker, type OutputChunk, Worker, type WorkerOptions } from '@aque/core'

/**
 * Upper bound of every wait in the suite, ms. Generous on purpose: a broker behind a server on
 * a loaded CI machine is slow, and a wait that runs out is a failure, never a measurement.
 */
export const WAIT = 10_000

export interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
  reject(err: unknown): void
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => {})
  return { promise, resolve, reject }
}

let tokens = 0
/** A string unique to one test, to key module-level records of task runs. */
export function uniqueToken(label = 't'): string {
  return `${label}-${process.pid}-${++tokens}-${Math.random().toString(36).slice(2, 8)}`
}

/** Rejects after `ms` with a message saying what did not happen. */
export function within<T>(work: Promise<T>, what: string, ms = WAIT): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([work, limit]).finally(() => clearTimeout(timer))
}

/**
 * The next `event` on `broker` whose payload passes `accept`. Subscribes at once, so call it
 * before the action that causes the event.
 */
export function nextEvent<T = unknown>(broker: BaseBroker, event: string, accept: (payload: T) => boolean = () => true, ms = WAIT): Promise<T> {
  const got = deferred<T>()
  const off = broker.on(event, (payload) => {
    if (accept(payload as T)) got.resolve(payload as T)
  })
  return within(got.promise, `event ${event}`, ms).finally(off)
}

/** Polls `check` until it returns something other than undefined/false (for state with no event). */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, ms = WAIT): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Runs every task the broker has until none is left, with a fresh in-process worker. */
export function runAll(broker: BaseBroker, options: WorkerOptions = {}): Promise<number> {
  return within(new Worker(broker, options).runToEnd(), 'a worker to run every task')
}

/** Runs `body` while a worker serves `broker` in the background; stops the worker afterwards. */
export async function withWorker<T>(broker: BaseBroker, options: WorkerOptions, body: (worker: Worker) => Promise<T>): Promise<T> {
  const worker = new Worker(broker, options)
  const running = worker.runForever()
  try {
    return await body(worker)
  } finally {
    await within(worker.stop(), 'the worker to stop')
    await running
  }
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

/** The bytes of one stream, put back together by offset, checking that no byte is missing or doubled. */
export function reassemble(chunks: OutputChunk[], stream: string): Buffer {
  const parts = chunks.filter((c) => c.stream === stream).sort((a, b) => a.offset - b.offset)
  let at = 0
  for (const part of parts) {
    if (part.offset !== at) throw new Error(`stream ${stream}: chunk at offset ${part.offset}, expected ${at}`)
    at += part.data.byteLength
  }
  return Buffer.concat(parts.map((p) => Buffer.from(p.data)))
}
