// A worker rides out broker errors: it tells onError, backs off and goes on.
import { MemoryBroker } from '@aque/broker-memory'
import { expect, it } from 'vitest'
import { BrokerConnectionError, type ClaimRequest, Queue, Worker } from '../src/index.js'

class FlakyBroker extends MemoryBroker {
  failuresLeft = 3
  override async _claim(request: ClaimRequest) {
    if (this.failuresLeft > 0) {
      this.failuresLeft--
      throw new BrokerConnectionError('connection lost (test)')
    }
    return super._claim(request)
  }
}

it('keeps claiming after the broker failed a few times', async () => {
  const broker = new FlakyBroker()
  const queue = new Queue({ broker })
  const errors: unknown[] = []
  const worker = new Worker(broker, { onError: (err) => errors.push(err), pollMs: 50 })
  const running = worker.runForever()
  const f = await queue.submit((x: number) => x + 1, 41)
  expect(await f.result({ timeout: 10_000 })).toBe(42)
  await worker.stop()
  await running
  expect(errors).toHaveLength(3)
  expect(errors[0]).toBeInstanceOf(BrokerConnectionError)
})
