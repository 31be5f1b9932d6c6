import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runConformance } from '@aque/conformance'
import { MemoryBroker } from '../src/index.js'

runConformance({ describe, it, expect, beforeEach, afterEach }, { name: 'memory', create: async () => new MemoryBroker() })
