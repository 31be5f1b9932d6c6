import type { OutputEvent } from '@aque/core'
import type pg from 'pg'
import { Listener } from './listener.js'

/**
 * Largest payload sent in a NOTIFY, bytes. PostgreSQL refuses 8000 and more (channel name
 * included); bigger events travel by reference.
 */
export const MAX_PAYLOAD = 7800

/** A message on the channel: `<event>\n<json>`; `@<id>` names a row of the events table. */
export function encodeMessage(event: string, payload: unknown): string {
  return `${event}\n${JSON.stringify(payload ?? null)}`
}

/** Output events too big to send carry this instead of `data`: the receiver reads the chunk. */
interface OutputRef {
  id: number
  stream: string
  offset: number
  ref: true
}

export interface TransportQueries {
  /** Sends a NOTIFY with this text. */
  notify(text: string): Promise<void>
  /** Stores a big message and notifies its reference. */
  spill(text: string): Promise<void>
  /** The message stored under this id. */
  spilled(id: number): Promise<string | null>
  /** Bytes of an output chunk. */
  chunk(id: number, stream: string, offset: number): Promise<Uint8Array | null>
}

function isOutputRef(text: string): boolean {
  return text.startsWith('task_output.') && text.endsWith('"ref":true}')
}

/**
 * LISTEN/NOTIFY for one broker: encodes events under the payload limit and hands received ones
 * to `deliver` in the order they were sent. Messages that need a read (big events) hold back
 * the ones after them until the read is done.
 */
export class EventTransport {
  private listener: Listener | null = null
  private queue: Promise<void> = Promise.resolve()
  private reading = 0

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly queries: TransportQueries,
    private readonly deliver: (event: string, payload: unknown) => void,
  ) {}

  async publish(event: string, payload: unknown): Promise<void> {
    const text = encodeMessage(event, payload)
    if (Buffer.byteLength(text) <= MAX_PAYLOAD) return this.queries.notify(text)
    if (event.startsWith('task_output.')) {
      const { id, stream, offset } = payload as OutputEvent
      const ref: OutputRef = { id, stream, offset, ref: true }
      return this.queries.notify(encodeMessage(event, ref))
    }
    return this.queries.spill(text)
  }

  async listen(): Promise<void> {
    if (this.listener) return
    const listener = new Listener(this.config, this.channel, {
      message: (text) => this.receive(text),
      // Whatever was sent while the connection was down is lost: idle workers look for work
      // (futures have their own safety poll).
      reconnected: () => this.deliver('new_work', {}),
    })
    await listener.start()
    this.listener = listener
  }

  private receive(text: string): void {
    if (this.reading === 0 && !text.startsWith('@') && !isOutputRef(text)) {
      this.dispatch(text)
      return
    }
    this.reading++
    this.queue = this.queue
      .then(() => this.resolve(text))
      .then(
        (resolved) => {
          if (resolved !== null) this.dispatch(resolved)
        },
        (err: unknown) => {
          // The event cannot be read back (its row expired or the connection dropped): waiters
          // fall back on their safety polls, so report it without stopping the stream.
          process.emitWarning(`aque postgres: an event could not be read: ${(err as Error).message}`)
        },
      )
      .finally(() => {
        this.reading--
      })
  }

  /** Reads what a reference names; returns the full message. */
  private async resolve(text: string): Promise<string | null> {
    if (text.startsWith('@')) return this.queries.spilled(Number(text.slice(1)))
    const newline = text.indexOf('\n')
    const payload = JSON.parse(text.slice(newline + 1)) as OutputRef | OutputEvent
    if (!isOutputRef(text) || !('ref' in payload)) return text
    const data = await this.queries.chunk(payload.id, payload.stream, payload.offset)
    if (data === null) return null
    const full: OutputEvent = { id: payload.id, stream: payload.stream, offset: payload.offset, data: Buffer.from(data).toString('base64') }
    return encodeMessage(text.slice(0, newline), full)
  }

  private dispatch(text: string): void {
    const newline = text.indexOf('\n')
    if (newline < 0) return
    let payload: unknown
    try {
      payload = JSON.parse(text.slice(newline + 1))
    } catch {
      process.emitWarning(`aque postgres: ignored a malformed notification on ${this.channel}`)
      return
    }
    this.deliver(text.slice(0, newline), payload)
  }

  async close(): Promise<void> {
    const listener = this.listener
    this.listener = null
    await listener?.close()
  }
}
