/**
 * @aque/broker-redis: the Redis broker on ioredis. Importing it registers `redis://` and
 * `rediss://` with `getBroker()`.
 */
import { registerBroker } from '@aque/core'
import { RedisBroker } from './redis-broker.js'

export { RedisBroker }
export { parseRedisUrl, formatRedisUrl, type RedisLocation } from './url.js'

registerBroker('redis', (url) => new RedisBroker(url))
registerBroker('rediss', (url) => new RedisBroker(url))
