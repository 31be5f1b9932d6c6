import { TimeoutError } from '../errors/classes.js'
import type { WaitOptions } from './completion.js'
import type { Future } from './future.js'

export type ReturnWhen = 'ALL_COMPLETED' | 'FIRST_COMPLETED' | 'FIRST_EXCEPTION'

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
  const controller = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal
  await new Promise<void>((resolve, reject) => {
    if (futures.length === 0) return resolve()
    let timer: NodeJS.Timeout | undefined
    if (options.timeout !== undefined) timer = setTimeout(resolve, options.timeout)
    const end = () => {
      if (timer) clearTimeout(timer)
      resolve()
    }
    for (const f of futures) {
      f.wait({ signal }).then(
        async (status) => {
          done.add(f)
          if (returnWhen === 'FIRST_COMPLETED' || (returnWhen === 'FIRST_EXCEPTION' && status !== 'success') || done.size === futures.length) end()
        },
        (err: unknown) => {
          if (!controller.signal.aborted) reject(err)
        },
      )
    }
  }).finally(() => controller.abort())
  return { done: futures.filter((f) => done.has(f)), pending: futures.filter((f) => !done.has(f)) }
}

/** Yields the futures as they complete, first done first. */
export async function* asCompleted<T>(futures: Future<T>[], options: WaitOptions = {}): AsyncIterable<Future<T>> {
  const queue: Future<T>[] = []
  let wake: (() => void) | null = null
  let failure: unknown = null
  const controller = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal
  for (const f of futures) {
    f.wait({ signal }).then(
      () => {
        queue.push(f)
        wake?.()
      },
      (err: unknown) => {
        failure ??= err
        wake?.()
      },
    )
  }
  const deadline = options.timeout === undefined ? null : Date.now() + options.timeout
  try {
    for (let yielded = 0; yielded < futures.length; ) {
      if (queue.length === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve
          if (deadline !== null) setTimeout(resolve, Math.max(0, deadline - Date.now()))
        })
        wake = null
      }
      if (failure) throw failure
      if (queue.length === 0 && deadline !== null && Date.now() >= deadline) {
        throw new TimeoutError(`${futures.length - yielded} futures did not complete within ${options.timeout} ms`)
      }
      while (queue.length > 0) {
        yielded++
        yield queue.shift() as Future<T>
      }
    }
  } finally {
    controller.abort()
  }
}
