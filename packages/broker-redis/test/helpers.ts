import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
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
