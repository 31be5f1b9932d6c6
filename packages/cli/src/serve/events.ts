import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Broker, StatusEvent } from '@aque/core'
import { sendEvent, startEventStream } from './http.js'

/**
 * Most bytes waiting to be sent to one client. A client that reads slower than tasks write
 * (or not at all) is dropped rather than held in memory; a browser reconnects by itself and
 * reads the stored output again.
 */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024

/** A comment line this often keeps proxies and browsers from closing a quiet stream, ms. */
const KEEPALIVE_MS = 15_000

/**
 * Relays broker events to one client as Server-Sent Events until it goes away:
 * `task_status` always (`{ ids, status }`), and for `task` its `task_output`
 * (`{ id, stream, offset, data }`, data base64) and `task_progress`. A `ready` event tells the
 * client that it is subscribed: what it reads after that cannot miss a change.
 */
export async function relayEvents(broker: Broker, req: IncomingMessage, res: ServerResponse, task: number | null): Promise<void> {
  const offs: Array<() => void> = []
  let keepalive: NodeJS.Timeout | undefined
  const stop = () => {
    clearInterval(keepalive)
    for (const off of offs.splice(0)) off()
  }
  const send = (event: string, data: unknown) => {
    if (res.destroyed) return
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      res.destroy()
      return
    }
    sendEvent(res, event, data)
  }
  req.on('close', stop)
  res.on('close', stop)
  // The outcomes a status event may carry are codec text meant for waiting Futures: not relayed.
  offs.push(
    broker.on('task_status', (payload) => {
      const { ids, status } = payload as StatusEvent
      send('task_status', { ids, status })
    }),
  )
  if (task !== null) {
    offs.push(broker.on(`task_output.${task}`, (payload) => send('task_output', payload)))
    offs.push(broker.on(`task_progress.${task}`, (payload) => send('task_progress', payload)))
  }
  startEventStream(res)
  await broker.ready()
  if (res.destroyed) return stop()
  send('ready', { task })
  keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS)
}
