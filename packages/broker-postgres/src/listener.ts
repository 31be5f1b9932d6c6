import pg from 'pg'
import { quoteIdent } from './migrate.js'

/** First and longest pause between reconnection attempts, ms. */
const RETRY_FIRST_MS = 20
const RETRY_MAX_MS = 2000

export interface ListenerHandlers {
  /** A notification arrived on the channel. */
  message(payload: string): void
  /** The connection came back after a loss: notifications sent meanwhile are gone. */
  reconnected(): void
}

/**
 * The one connection of a broker that LISTENs (outside the pool: a pooled client may be
 * handed to anyone). When it drops it reconnects by itself, with a growing pause, and LISTENs
 * again; `start()` fails only if the very first connection fails.
 */
export class Listener {
  private client: pg.Client | null = null
  private closed = false
  private timer: NodeJS.Timeout | null = null
  private delay = RETRY_FIRST_MS

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly handlers: ListenerHandlers,
  ) {}

  /** Connects and LISTENs. */
  async start(): Promise<void> {
    await this.connect()
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config)
    client.on('notification', (msg) => {
      if (msg.channel === this.channel) this.handlers.message(msg.payload ?? '')
    })
    // A dropped connection emits 'error' and/or 'end'; either way, start over once.
    let lost = false
    let established = false
    const onLost = () => {
      // Before LISTEN succeeded, the failure is reported by connect()'s promise instead.
      if (lost || !established) return
      lost = true
      if (this.client === client) this.client = null
      client.end().catch(() => {})
      this.scheduleReconnect()
    }
    client.on('error', onLost)
    try {
      await client.connect()
      await client.query(`LISTEN ${quoteIdent(this.channel)}`)
    } catch (err) {
      lost = true
      await client.end().catch(() => {})
      throw err
    }
    if (this.closed) {
      await client.end().catch(() => {})
      return
    }
    established = true
    client.on('end', onLost)
    this.client = client
    this.delay = RETRY_FIRST_MS
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.connect().then(
        () => {
          if (!this.closed) this.handlers.reconnected()
        },
        () => {
          this.delay = Math.min(RETRY_MAX_MS, this.delay * 2)
          this.scheduleReconnect()
        },
      )
    }, this.delay)
    this.timer.unref()
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const client = this.client
    this.client = null
    if (client) {
      client.removeAllListeners('end')
      client.removeAllListeners('error')
      client.on('error', () => {})
      await client.end().catch(() => {})
    }
  }
}
