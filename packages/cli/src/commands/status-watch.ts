import { type Broker, TASK_STATUSES, type TaskWithProblems } from '@aque/core'
import { fieldsFor, listTasks } from '../lib/listing.js'
import { renderTable } from '../lib/render.js'

/** Redraw at least this often (elapsed times move), ms. */
const REFRESH_MS = 1000
/** And at most this often when events pour in, ms. */
const THROTTLE_MS = 200

const ALT_SCREEN_ON = '\x1b[?1049h\x1b[?25l'
const ALT_SCREEN_OFF = '\x1b[?25h\x1b[?1049l'
const HOME_CLEAR = '\x1b[H\x1b[2J'

/** A screenful: counts by state, then running tasks, then waiting ones. */
async function frame(broker: Broker, allUsers: boolean, width: number, height: number): Promise<string[]> {
  const fields = fieldsFor(false)
  const [counts, running, waiting] = await Promise.all([
    broker.counts(),
    listTasks(broker, { allUsers, status: ['running', 'suspended'], fields }),
    listTasks(broker, { allUsers, status: ['pending'], fields, limit: Math.max(1, height) }),
  ])
  const time = new Date().toLocaleTimeString()
  const header = [
    `aque status --watch   ${broker.displayUrl()}   ${time}   (q to quit)`,
    TASK_STATUSES.filter((s) => s !== 'creating' || counts[s] > 0)
      .map((s) => `${s} ${counts[s]}`)
      .join('   '),
    '',
  ]
  const tasks: TaskWithProblems[] = [...running.values(), ...waiting.values()]
  const rows = tasks.map((task) => ({ task, depth: 0, lasts: [true] }))
  const table = rows.length > 0 ? renderTable(rows, { showUser: allUsers, width }) : ['no running or waiting tasks']
  return [...header, ...table].slice(0, Math.max(3, height - 1)).map((l) => (l.length > width ? l.slice(0, width) : l))
}

/**
 * The live view (`status --watch`), like top: redrawn on every status change (throttled)
 * and every second; q or Ctrl-C quits.
 */
export async function watchStatus(broker: Broker, options: { allUsers: boolean }): Promise<void> {
  const out = process.stdout
  const tty = Boolean(out.isTTY)
  let stopped = false
  let drawing = false
  let again = false
  let lastDraw = 0
  let timer: NodeJS.Timeout | null = null
  let finish: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    finish = resolve
  })

  const draw = async () => {
    if (stopped) return
    if (drawing) {
      again = true
      return
    }
    drawing = true
    try {
      const lines = await frame(broker, options.allUsers, out.columns || 100, out.rows || 30)
      if (stopped) return
      out.write(tty ? `${HOME_CLEAR}${lines.join('\n')}` : `${lines.join('\n')}\n\n`)
      lastDraw = Date.now()
    } finally {
      drawing = false
    }
    if (again) {
      again = false
      schedule()
    }
  }
  const schedule = () => {
    if (timer || stopped) return
    const wait = Math.max(0, THROTTLE_MS - (Date.now() - lastDraw))
    timer = setTimeout(() => {
      timer = null
      void draw().catch(fail)
    }, wait)
  }
  let failure: unknown = null
  const fail = (err: unknown) => {
    failure = err
    stop()
  }
  const stop = () => {
    if (stopped) return
    stopped = true
    finish()
  }

  const offStatus = broker.on('task_status', schedule)
  const tick = setInterval(schedule, REFRESH_MS)
  const onKey = (key: Buffer) => {
    const k = key.toString()
    if (k === 'q' || k === 'Q' || k === '\x03' || k === '\x1b') stop()
  }
  const stdin = process.stdin
  if (stdin.isTTY) {
    stdin.setRawMode(true)
    stdin.resume()
    stdin.on('data', onKey)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  if (tty) out.write(ALT_SCREEN_ON)
  try {
    await draw().catch(fail)
    await done
  } finally {
    offStatus()
    clearInterval(tick)
    if (timer) clearTimeout(timer)
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    if (stdin.isTTY) {
      stdin.off('data', onKey)
      stdin.setRawMode(false)
      stdin.pause()
    }
    if (tty) out.write(ALT_SCREEN_OFF)
  }
  if (failure) throw failure
}
