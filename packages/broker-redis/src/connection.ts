import { BrokerConnectionError } from '@aque/core'
import { Redis } from 'ioredis'
import type { RedisLocation } from './url.js'

/** How long the first connection may take before the first call fails, ms. */
export const CONNECT_TIMEOUT_MS = 3000
/** Longest pause between reconnection attempts of an established connection, ms. */
const MAX_RECONNECT_DELAY_MS = 1000

/**
 * A connection that fails fast at first and is patient afterwards: until it has been ready
 * once, a failure ends it (the caller gets BrokerConnectionError at once, no silent retry
 * loop); once it has been ready, a dropped connection reconnects by itself and commands wait
 * for it (they are queued and resent), so workers and futures carry on through a restart.
 */
export class Connection {
  readonly client: Redis
  private everReady = false
  private connecting: Promise<void> | null = null

  constructor(
    loc: RedisLocation,
    private readonly displayUrl: string,
    name: string,
  ) {
    this.client = new Redis({
      host: loc.host,
      port: loc.port,
      db: loc.db,
      username: loc.username ?? undefined,
      password: loc.password ?? undefined,
      tls: loc.tls ? {} : undefined,
      connectionName: name,
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: null,
      // No auto-pipelining: it keeps one pipeline in flight per connection, so a command
      // waits for the round trip of the previous batch (a submit behind an idle worker's
      // claim, a claim behind the finishes). Commands go out at once instead; `batch()`
      // gathers those of one job into one write.
      enableAutoPipelining: false,
      retryStrategy: (times) => (this.everReady ? Math.min(20 * times, MAX_RECONNECT_DELAY_MS) : null),
    })
    this.client.on('ready', () => {
      this.everReady = true
    })
    // Failures reach the caller through the command that fails; without a listener ioredis
    // would print every reconnection attempt as an unhandled error.
    this.client.on('error', () => {})
  }

  /** Whether it has been ready once: commands can then be sent at once (they wait through a reconnection). */
  get isReady(): boolean {
    return this.everReady
  }

  /**
   * Runs `job`, writing the commands it sends at once in one system call: the socket is corked
   * meanwhile and uncorked at the end of the current tick.
   */
  batch(job: () => void): void {
    const stream = this.client.stream
    if (!this.everReady || !stream || stream.destroyed) {
      job()
      return
    }
    stream.cork()
    try {
      job()
    } finally {
      process.nextTick(() => stream.uncork())
    }
  }

  /** Resolves once connected; rejects with BrokerConnectionError if Redis cannot be reached. */
  ready(): Promise<void> {
    if (this.everReady) return Promise.resolve()
    this.connecting ??= this.client.connect().then(
      () => undefined,
      (err: unknown) => {
        this.connecting = null
        this.client.disconnect()
        const reason = err instanceof Error ? err.message : String(err)
        throw new BrokerConnectionError(`cannot connect to Redis at ${this.displayUrl}: ${reason}`, { cause: err })
      },
    )
    return this.connecting
  }

  /** Quits (or drops, if it never connected). */
  async close(): Promise<void> {
    if (this.client.status === 'ready') {
      await this.client.quit().catch(() => this.client.disconnect())
    } else {
      this.client.disconnect()
    }
  }
}
