import { runConformance } from '@aque/conformance'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PostgresBroker } from '../src/index.js'
import { randomSchema } from './helpers.js'

runConformance(
  { describe, it, expect, beforeEach, afterEach },
  {
    name: 'postgres',
    async create() {
      const broker = new PostgresBroker(`postgres://postgres@127.0.0.1:5432/test?schema=${randomSchema()}`)
      await broker.init()
      return broker
    },
  },
)
