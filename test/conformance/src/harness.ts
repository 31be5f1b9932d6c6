import type { BaseBroker } from '@aque/core'

/**
 * The test functions of the runner that drives the suite (vitest, jest, node:test with an
 * adapter): passed in, so that the suite has no test framework of its own.
 */
export interface TestApi {
  describe: (name: string, body: () => void) => void
  it: (name: string, body: () => Promise<void> | void, timeout?: number) => void
  beforeEach: (body: () => Promise<void> | void) => void
  afterEach: (body: () => Promise<void> | void) => void
  expect: ExpectLike
}

// biome-ignore lint/suspicious/noExplicitAny: the runner's own expect type
export type ExpectLike = (value: unknown) => any

/** Makes a fresh, isolated broker for one test (its own key prefix, schema or name). */
export interface BrokerFactory {
  /** Name shown in the test titles, e.g. "redis". */
  name: string
  /** A new broker on its own isolated storage, already `init()`ed. */
  create(): Promise<BaseBroker>
  /** Removes what `create` made; called after each test with the broker (after close). @default broker.destroy() then close() */
  dispose?(broker: BaseBroker): Promise<void>
}

/** What each area's file receives. */
export interface SuiteContext {
  t: TestApi
  /** The broker of the current test (set in beforeEach). */
  broker(): BaseBroker
  /** Another broker on the same storage, as a second process would have it (`getBroker(broker.toUrl())`). */
  peer(): Promise<BaseBroker>
  factory: BrokerFactory
}
