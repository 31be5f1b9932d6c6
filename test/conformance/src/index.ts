import { type BaseBroker, getBroker } from '@aque/core'
import type { BrokerFactory, SuiteContext, TestApi } from './harness.js'
import { currentTaskSuite } from './current-task.js'
import { errorsSuite } from './errors.js'
import { eventsSuite } from './events.js'
import { futuresSuite } from './futures.js'
import { graphSuite } from './graph.js'
import { killSuite } from './kill.js'
import { leaseSuite } from './lease.js'
import { outputSuite } from './output.js'
import { patternsSuite } from './patterns.js'
import { retrySuite } from './retry.js'
import { shellSuite } from './shell.js'
import { submitSuite } from './submit.js'
import { suspendSuite } from './suspend.js'
import { taskApiSuite } from './task-api.js'
import { urlSuite } from './url.js'
import { workersSuite } from './workers.js'

export type { BrokerFactory, SuiteContext, TestApi } from './harness.js'

/** Every area of the suite, one file each, in the order they run. */
const AREAS: Array<(ctx: SuiteContext) => void> = [
  submitSuite,
  graphSuite,
  leaseSuite,
  suspendSuite,
  workersSuite,
  retrySuite,
  killSuite,
  eventsSuite,
  outputSuite,
  errorsSuite,
  patternsSuite,
  shellSuite,
  currentTaskSuite,
  taskApiSuite,
  urlSuite,
  futuresSuite,
]

/**
 * Runs the whole conformance suite against a broker. A broker package's test file is:
 *
 *   import { describe, it, expect, beforeEach, afterEach } from 'vitest'
 *   import { runConformance } from '@aque/conformance'
 *   runConformance({ describe, it, expect, beforeEach, afterEach }, { name: 'redis', create })
 */
export function runConformance(t: TestApi, factory: BrokerFactory): void {
  t.describe(`aque conformance: ${factory.name}`, () => {
    let current: BaseBroker | null = null
    const peers: BaseBroker[] = []
    t.beforeEach(async () => {
      current = await factory.create()
      // Listening from the start: a future or worker of the test never waits on a
      // subscription that is still being set up.
      await current.ready()
    })
    t.afterEach(async () => {
      for (const p of peers.splice(0)) await p.close()
      const b = current
      current = null
      if (!b) return
      if (factory.dispose) await factory.dispose(b)
      else {
        await b.destroy()
        await b.close()
      }
    })
    const ctx: SuiteContext = {
      t,
      factory,
      broker() {
        if (!current) throw new Error('no broker: called outside a test')
        return current
      },
      async peer() {
        const b = ctx.broker()
        if (!b.capabilities.shared) return b
        const p = await getBroker(b.toUrl())
        peers.push(p)
        await p.ready()
        return p
      },
    }
    for (const area of AREAS) area(ctx)
  })
}
