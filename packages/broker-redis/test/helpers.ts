import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterEach, beforeEach } from 'vitest'
import { RedisBroker } from '../src/index.js'

export const REDIS = 'redis://127.0.0.1:6379/0'

/** A broker on the local Redis under its own fresh key prefix. */
export async function freshBroker(): Promise<RedisBroker> {
  const broker = new RedisBroker(`${REDIS}?prefix=aque-test-${randomBytes(6).toString('hex')}`)
  await broker.init()
  return broker
}

/** A plain client, to look at or damage what the broker stored. */
export function rawClient(): Redis {
  return new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true })
}

/** A fresh broker for each test of the calling suite (destroyed and closed after it): call it in `describe`. */
export function brokerPerTest(): () => RedisBroker {
  let broker: RedisBroker | null = null
  beforeEach(async () => {
    broker = await freshBroker()
  })
  afterEach(async () => {
    await broker?.destroy()
    await broker?.close()
    broker = null
  })
  return () => {
    if (!broker) throw new Error('no broker outside a test')
    return broker
  }
}
