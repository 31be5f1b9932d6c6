import type { TaskStatus } from '../task/states.js'

/** Payload of `task_status`, `task_status.<status>` and `task_status.<id>`. */
export interface StatusEvent {
  ids: number[]
  status: TaskStatus
  /**
   * Optional: codec text of the result (success) or error (error, killed) of some of the ids,
   * when small. A waiting Future uses it instead of reading the task back.
   */
  outcomes?: Record<number, string>
}
/** Payload of `task_output.<id>`. `data` is base64 of the bytes. */
export interface OutputEvent {
  id: number
  stream: string
  offset: number
  data: string
}
/** Payload of `task_progress.<id>`. */
export interface ProgressEvent {
  id: number
  done: number
  total: number | null
  message: string | null
}
/** Payload of `task_signal.<id>` (also heard by `task_signal` listeners): a request to signal the process running the task. */
export interface SignalEvent {
  id: number
  signal: string
}

export type EventListener = (payload: unknown, event: string) => void

/** The name of a listener for one task's status messages. */
const PER_TASK_STATUS = /^task_status\.\d+$/

/**
 * Listeners by event name, shared by every broker. Transports carry one message per base
 * event (`task_status`, `task_output.<id>`, …); the hub fans a status message out to the
 * `task_status`, `task_status.<status>` and `task_status.<id>` listeners here, so a message
 * for 10,000 ids crosses the wire once.
 */
export class EventHub {
  /**
   * Listeners by name, each list replaced (never changed) when one is added or removed: a
   * delivery goes through the list as it was, with no copy (one per event, several per task).
   */
  private readonly listeners = new Map<string, readonly EventListener[]>()
  /** Names of the form `task_status.<id>` listened to: none, and a status message skips its ids. */
  private perTask = 0

  on(event: string, listener: EventListener): () => void {
    const list = this.listeners.get(event)
    if (!list) {
      this.listeners.set(event, [listener])
      if (PER_TASK_STATUS.test(event)) this.perTask++
    } else if (!list.includes(listener)) {
      this.listeners.set(event, [...list, listener])
    }
    return () => this.off(event, listener)
  }

  off(event: string, listener: EventListener): void {
    const list = this.listeners.get(event)
    if (!list?.includes(listener)) return
    if (list.length > 1) {
      this.listeners.set(
        event,
        list.filter((l) => l !== listener),
      )
      return
    }
    this.listeners.delete(event)
    if (PER_TASK_STATUS.test(event)) this.perTask--
  }

  /** Whether anything listens to this exact name. */
  has(event: string): boolean {
    return this.listeners.has(event)
  }

  get size(): number {
    return this.listeners.size
  }

  /** Delivers a message that arrived from the transport (this process or another). */
  dispatch(event: string, payload: unknown): void {
    if (event === 'task_status') {
      const status = payload as StatusEvent
      this.deliver('task_status', payload)
      this.deliver(`task_status.${status.status}`, payload)
      // Only ids somebody waits on cost anything: most tasks have no listener.
      if (this.perTask > 0) {
        for (const id of status.ids) {
          const key = `task_status.${id}`
          if (this.listeners.has(key)) {
            const outcome = status.outcomes?.[id]
            this.deliver(key, outcome === undefined ? { ids: [id], status: status.status } : { ids: [id], status: status.status, outcomes: { [id]: outcome } })
          }
        }
      }
      return
    }
    // One listener may hear the signals of every task (a worker routes them by id).
    if (event.startsWith('task_signal.')) this.deliver('task_signal', payload)
    this.deliver(event, payload)
  }

  private deliver(event: string, payload: unknown): void {
    const list = this.listeners.get(event)
    if (!list) return
    for (let i = 0; i < list.length; i++) {
      const listener = list[i] as EventListener
      try {
        listener(payload, event)
      } catch (err) {
        // A listener's bug must not stop delivery to the others, nor be lost.
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }

  clear(): void {
    this.listeners.clear()
    this.perTask = 0
  }
}
