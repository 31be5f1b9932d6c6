// Function tasks in child processes (`isolation: "process"`): results, errors, progress and
// output come back; a crash or a kill of one task never takes the worker down.
import { MemoryBroker } from '@aque/broker-memory'
import { describe, expect, it } from 'vitest'
import { CommandError, Queue, Worker } from '../src/index.js'

const fixture = new URL('./fixtures/isolated-tasks.mjs', import.meta.url).pathname
const { isoAdd, isoCrash, isoHang, isoThrow } = await import(fixture)

describe('isolation: process', () => {
  it('runs a task in a warm child process and survives crashes and kills', async () => {
    const broker = new MemoryBroker()
    const queue = new Queue({ broker })
    const worker = new Worker(broker, { imports: [fixture], pollMs: 50 })
    const running = worker.runForever()
    try {
      const first = await queue.submitEx({ func: isoAdd, args: [2, 3], isolation: 'process' })
      const value = (await first.result({ timeout: 20_000 })) as { sum: number; pid: number }
      expect(value.sum).toBe(5)
      expect(value.pid).not.toBe(process.pid)
      expect((await first.task()).progress?.message).toBe('half way')
      const log = (await broker.getOutput([first.id])).filter((c) => c.stream === 'log')
      expect(Buffer.concat(log.map((c) => c.data)).toString()).toContain('adding')
      // The same warm child runs the next one.
      const second = await queue.submitEx({ func: isoAdd, args: [1, 1], isolation: 'process' })
      expect(((await second.result({ timeout: 20_000 })) as { pid: number }).pid).toBe(value.pid)

      const thrown = await queue.submitEx({ func: isoThrow, isolation: 'process' })
      await expect(thrown.result({ timeout: 20_000 })).rejects.toBeInstanceOf(RangeError)

      const crash = await queue.submitEx({ func: isoCrash, isolation: 'process' })
      const err = await crash.exception({ timeout: 20_000 })
      expect(err).toBeInstanceOf(CommandError)
      expect((err as CommandError).exitCode).toBe(3)

      const hang = await queue.submitEx({ func: isoHang, isolation: 'process' })
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (worker.pidOf(hang.id)) {
            clearInterval(poll)
            resolve()
          }
        }, 10)
      })
      await hang.cancel('SIGKILL')
      expect(await hang.wait({ timeout: 20_000 })).toBe('killed')

      // The worker is still up and runs more work.
      const after = await queue.submitEx({ func: isoAdd, args: [4, 4], isolation: 'process' })
      expect(((await after.result({ timeout: 20_000 })) as { sum: number }).sum).toBe(8)
    } finally {
      await worker.stop({ graceMs: 1000 })
      await running
    }
  })
})
