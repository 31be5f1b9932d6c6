/**
 * Redis only: how the scripts reach Redis. They run as functions of one library (Redis 7),
 * loaded again when Redis no longer holds it (a restart without persistence), and by EVAL on a
 * Redis without functions: both paths must run the same operations.
 */
import { DependencyFailedError, Queue, task, Worker } from '@aque/core'
import { describe, expect, it } from 'vitest'
import type { RedisBroker } from '../src/index.js'
import { libraryName, useEval } from '../src/scripts.js'
import { brokerPerTest, rawClient } from './helpers.js'

const double = task('redis-scripts-double', (n: number) => n * 2)
const fail = task('redis-scripts-fail', (): never => {
  throw new Error('planned')
})

/** Submits a chain and a failing task with a dependent, runs them, checks every outcome. */
async function runGraph(broker: RedisBroker): Promise<void> {
  const queue = new Queue({ broker })
  const [a, b, bad, after] = await queue.submitMany([
    { func: double, args: [1] },
    { func: double, args: [2], dependencies: [] },
    { func: fail },
    { func: double, args: [3] },
  ])
  const chained = await queue.submitEx({ func: double, args: [5], dependencies: [a as never] })
  const doomed = await queue.submitEx({ func: double, args: [6], dependencies: [bad as never] })
  await new Worker(broker, { concurrency: 4 }).runToEnd()
  await expect(a?.result({ timeout: 10_000 })).resolves.toBe(2)
  await expect(b?.result({ timeout: 10_000 })).resolves.toBe(4)
  await expect(after?.result({ timeout: 10_000 })).resolves.toBe(6)
  await expect(chained.result({ timeout: 10_000 })).resolves.toBe(10)
  await expect(bad?.result({ timeout: 10_000 })).rejects.toThrow('planned')
  await expect(doomed.result({ timeout: 10_000 })).rejects.toBeInstanceOf(DependencyFailedError)
}

describe('redis scripts', () => {
  const broker = brokerPerTest()
  const raw = rawClient()

  it('run as functions of one library, loaded again once Redis no longer holds it', async () => {
    await runGraph(broker())
    const listed = JSON.stringify(await raw.call('FUNCTION', 'LIST', 'LIBRARYNAME', libraryName()))
    expect(listed).toContain(libraryName())
    // As after a restart of a Redis that keeps nothing: the next calls load it again.
    await raw.call('FUNCTION', 'DELETE', libraryName())
    await runGraph(broker())
  })

  it('run by EVAL on a Redis without functions, with the same outcomes', async () => {
    useEval(Reflect.get(broker(), 'main').client)
    await runGraph(broker())
  })
})
