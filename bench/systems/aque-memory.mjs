/**
 * aque on its in-process memory broker: the cost of aque's own code (facades, validation,
 * codec, worker loop, broker bookkeeping) without any network. Imports the built packages.
 */
import { MemoryBroker } from '@aque/broker-memory'
import { aqueScenarios } from '../lib/aque-scenarios.mjs'

export default {
  name: 'aque-memory',
  group: 'memory',
  node: 'node20',
  scenarios: {
    ...aqueScenarios({
      async open() {
        const broker = new MemoryBroker()
        await broker.init()
        return broker
      },
      /** A closure: the memory broker runs them in this process. */
      noop: () => {},
      /**
       * A few hundred round trips leave the path half-optimised (p50 ≈ 45–55 µs at 500 vs
       * ≈ 15–25 µs from 3,000 on): a long-lived worker runs warm code.
       */
      latencyWarmup: 3000,
      /** One round is only tens of ms: more of them. */
      backlogRounds: 9,
    }),
  },
}
