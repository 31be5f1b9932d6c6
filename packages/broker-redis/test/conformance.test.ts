import { randomBytes } from 'node:crypto'
import { runConformance } from '@aque/conformance'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RedisBroker } from '../src/index.js'

/** A broker on the local Redis under a fresh key prefix; the suite destroys and closes it. */
async function create() {
  const broker = new RedisBroker(`redis://127.0.0.1:6379/0?prefix=aque-test-${randomBytes(6).toString('hex')}`)
  await broker.init()
  return broker
}

runConformance({ describe, it, expect, beforeEach, afterEach }, { name: 'redis', create })
