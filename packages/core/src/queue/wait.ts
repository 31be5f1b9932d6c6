import { AbortedError, TimeoutError } from '../errors/classes.js'
import { type Completion, type WaitOptions, watchCompletion } from './completion.js'
import type { Future } from './future.js'

export type ReturnWhen = 'ALL_COMPLETED' | 'FIRST_COMPLETED' | 'FIRST_EXCEPTION'

/**
 * Watches many futures with one listener per broker (not one per future), calling `onDone`
 * as each completes. Returns the function that stops watching.
 */
function watchAll<T>(futures: Future<T>[], onDone: (f: Future<T>, c: Completion) => void, onError: (err: Error) => void): () => void {
  const cancels = futures.map((f) => watchCompletion(f.broker, f.id, { done: (c) => onDone(f, c), fail: onError }))
  return () => {
    for (const cancel of cancels) cancel()
  }
}

/**
 * Waits for futures like Python's `concurrent.futures.wait`: resolves with the completed and
 * the pending ones when `returnWhen` is met or the timeout passes (no error on timeout).
 */
export async function wait<T>(
  futures: Future<T>[],
  options: WaitOptions & { returnWhen?: ReturnWhen } = {},
): Promise<{ done: Future<T>[]; pending: Future<T>[] }> {
  const returnWhen = options.returnWhen ?? 'ALL_COMPLETED'
  const done = new Set<Future<T>>()
  if (futures.length > 0) {
    await new Promise<void>((resolve, reject) => {
      let stop = () => {}
      let timer: NodeJS.Timeout | undefined
      const end = (err?: Error) => {
        stop()
        if (timer) clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        if (err) reject(err)
        else resolve()
      }
      const onAbort = () => end(new AbortedError('waiting for the futures was aborted'))
      if (options.signal?.aborted) return onAbort()
      options.signal?.addEventListener('abort', onAbort, { once: true })
      if (options.timeout !== undefined) timer = setTimeout(() => end(), options.timeout)
      stop = watchAll(
        futures,
        (f, c) => {
          done.add(f)
          if (returnWhen === 'FIRST_COMPLETED' || (returnWhen === 'FIRST_EXCEPTION' && c.status !== 'success') || done.size === futures.length) end()
        },
        (err) => end(err),
      )
    })
  }
  return { done: futures.filter((f) => done.has(f)), pending: futures.filter((f) => !done.has(f)) }
}

/** Yields the futures as they complete, first done first. */
export async function* asCompleted<T>(futures: Future<T>[], options: WaitOptions = {}): AsyncIterable<Future<T>> {
  const ready: Future<T>[] = []
  let wake: (() => void) | null = null
  let failure: Error | null = null
  const stop = watchAll(
    futures,
    (f) => {
      ready.push(f)
      wake?.()
    },
    (err) => {
      failure ??= err
      wake?.()
    },
  )
  const deadline = options.timeout === undefined ? null : Date.now() + options.timeout
  const onAbort = () => {
    failure ??= new AbortedError('waiting for the futures was aborted')
    wake?.()
  }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    for (let yielded = 0; yielded < futures.length; ) {
      if (ready.length === 0 && !failure) {
        await new Promise<void>((resolve) => {
          wake = resolve
          if (deadline !== null) setTimeout(resolve, Math.max(0, deadline - Date.now())).unref()
        })
        wake = null
      }
      if (options.signal?.aborted) throw new AbortedError('waiting for the futures was aborted')
      if (failure) throw failure
      if (ready.length === 0 && deadline !== null && Date.now() >= deadline) {
        throw new TimeoutError(`${futures.length - yielded} futures did not complete within ${options.timeout} ms`)
      }
      while (ready.length > 0) {
        yielded++
        yield ready.shift() as Future<T>
      }
    }
  } finally {
    stop()
    options.signal?.removeEventListener('abort', onAbort)
  }
}
