/**
 * `aque serve` end to end: the built binary serves a real broker (Redis, PostgreSQL) while
 * `aque worker` runs tasks in another process and `aque submit` submits them. The API lists
 * and shows the task, its status is followed through Server-Sent Events until success, its
 * output and progress arrive live and are read back; kill and retry act on a running task;
 * the broker's password never leaves the server; SIGTERM stops it with exit 0.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BROKERS, CliSandbox, exited, until } from './fixtures/cli-harness.js'

const PASSWORD = 'pw-never-shown-7f3a'

const sandboxes: CliSandbox[] = []
const streams: EventReader[] = []
afterEach(async () => {
  for (const e of streams.splice(0)) e.close()
  for (const s of sandboxes.splice(0)) await s.cleanup()
})

/** A PostgreSQL URL gets a password (trust authentication ignores it) to check it is never shown. */
function withPassword(url: string): string {
  return url.startsWith('postgres://') ? url.replace('postgres://postgres@', `postgres://postgres:${PASSWORD}@`) : url
}

async function sandbox(url: string): Promise<CliSandbox> {
  const s = new CliSandbox(url)
  sandboxes.push(s)
  await (await s.broker()).init()
  return s
}

interface ServerEvent {
  event: string
  data: Record<string, unknown>
}

/** Reads an event stream in the background; `waitFor` resolves once an event matches. */
class EventReader {
  readonly events: ServerEvent[] = []
  private readonly controller = new AbortController()
  private ended: unknown = null
  private readonly done: Promise<void>

  constructor(url: string) {
    this.done = this.read(url).catch((err: unknown) => {
      this.ended = err
    })
  }

  private async read(url: string): Promise<void> {
    const res = await fetch(url, { signal: this.controller.signal })
    if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status}`)
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let cut = buffer.indexOf('\n\n')
      while (cut >= 0) {
        const block = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event && data) this.events.push({ event, data: JSON.parse(data) as Record<string, unknown> })
        cut = buffer.indexOf('\n\n')
      }
    }
  }

  async waitFor(what: string, match: (e: ServerEvent) => boolean, timeoutMs = 20_000): Promise<ServerEvent> {
    let found: ServerEvent | undefined
    await until(
      what,
      () => {
        if (this.ended && !(this.ended instanceof Error && this.ended.name === 'AbortError')) throw this.ended
        found = this.events.find(match)
        return found !== undefined
      },
      timeoutMs,
    )
    return found as ServerEvent
  }

  close(): void {
    this.controller.abort()
    void this.done
  }
}

function listen(url: string): EventReader {
  const reader = new EventReader(url)
  streams.push(reader)
  return reader
}

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const post = (url: string, body: unknown) => json(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

const statusIs = (id: number, status: string) => (e: ServerEvent) => e.event === 'task_status' && e.data.status === status && (e.data.ids as number[]).includes(id)

/** Starts `aque serve --port 0` and returns its URL (the first line it prints). */
async function serve(s: CliSandbox) {
  const server = s.spawn(['serve', '--port', '0'])
  let base = ''
  await until('aque serve prints its URL', () => {
    const m = /^(http:\/\/127\.0\.0\.1:\d+)\/$/m.exec(server.output())
    base = m?.[1] ?? ''
    return base !== ''
  })
  return { server, base }
}

describe.each(BROKERS)('aque serve on $name', ({ url }) => {
  it('shows a task submitted with aque submit, follows it live through SSE until success, serves its output and the page', { timeout: 60_000 }, async () => {
    const s = await sandbox(withPassword(url()))
    const { server, base } = await serve(s)
    const worker = s.spawn(['worker'])
    const page = await fetch(`${base}/`)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await page.text()
    expect(html).toContain('<title>aque</title>')
    expect(html).toContain("new EventSource('/api/events')")
    const info = (await json(`${base}/api/info`)).body
    expect(String(info.broker)).not.toContain(PASSWORD)
    expect(info.scheme).toBe(url().split(':')[0])

    const all = listen(`${base}/api/events`)
    await all.waitFor('the status stream is ready', (e) => e.event === 'ready')
    // The task waits for a file, so that its live output cannot end before we listen to it.
    const id = Number((await s.ok(['submit', '-n', 'served', '--shell', 'while [ ! -e go ]; do sleep 0.05; done; echo "hello from $AQUE_TID"; aque progress 1/2 half; echo bye >&2'])).trim())
    await all.waitFor('the new task is announced', statusIs(id, 'pending'))
    await all.waitFor('the task runs', statusIs(id, 'running'))

    const listed = (await json(`${base}/api/tasks?order=desc&limit=10`)).body.tasks as Array<Record<string, unknown>>
    expect(listed.map((t) => t.id)).toContain(id)
    const running = (await json(`${base}/api/tasks/${id}`)).body
    expect(running).toMatchObject({ id, status: 'running', name: 'served', command: 'served' })
    expect(typeof running.worker).toBe('string')
    expect(typeof running.elapsed).toBe('number')

    const one = listen(`${base}/api/events?task=${id}`)
    await one.waitFor('the task stream is ready', (e) => e.event === 'ready')
    writeFileSync(join(s.dir, 'go'), '')
    await all.waitFor('the task succeeds', statusIs(id, 'success'))
    const out = await one.waitFor('its stdout arrives live', (e) => e.event === 'task_output' && e.data.stream === 'stdout')
    expect(Buffer.from(String(out.data.data), 'base64').toString()).toBe(`hello from ${id}\n`)
    expect((await one.waitFor('its progress arrives live', (e) => e.event === 'task_progress')).data).toEqual({ id, done: 1, total: 2, message: 'half' })

    const stored = (await json(`${base}/api/tasks/${id}/output`)).body as { status: string; chunks: Array<{ stream: string; data: string; offset: number }> }
    expect(stored.status).toBe('success')
    const text = (stream: string) =>
      Buffer.concat(
        stored.chunks
          .filter((c) => c.stream === stream)
          .sort((a, b) => a.offset - b.offset)
          .map((c) => Buffer.from(c.data, 'base64')),
      ).toString()
    expect(text('stdout')).toBe(`hello from ${id}\n`)
    expect(text('stderr')).toBe('bye\n')
    expect((await json(`${base}/api/tasks/${id}`)).body).toMatchObject({ status: 'success', progress: { done: 1, total: 2, message: 'half' } })
    expect((await json(`${base}/api/counts`)).body).toMatchObject({ success: 1, pending: 0, running: 0 })
    expect((await json(`${base}/api/tasks/${id + 1000}`)).status).toBe(404)

    all.close()
    one.close()
    server.kill('SIGTERM')
    expect(await exited(server)).toBe(0)
    expect(server.output()).toMatch(/SIGTERM: stopping/)
    expect(server.output()).not.toContain(PASSWORD)
    worker.kill('SIGTERM')
    await exited(worker)
  })

  it('kills a running task and retries it through the API; refuses a non-loopback host without --public', { timeout: 60_000 }, async () => {
    const s = await sandbox(withPassword(url()))
    const { server, base } = await serve(s)
    s.spawn(['worker'])
    const all = listen(`${base}/api/events`)
    await all.waitFor('the status stream is ready', (e) => e.event === 'ready')
    const id = Number((await s.ok(['submit', '--shell', 'echo started; sleep 60'])).trim())
    await until('the task prints', async () => (await s.stdout(id)).includes('started'), 20_000)
    expect((await post(`${base}/api/tasks/${id}/kill`, { signal: 'INT' })).body).toEqual({ killed: [id], signal: 'SIGINT' })
    await all.waitFor('the task is killed', statusIs(id, 'killed'))
    const task = (await json(`${base}/api/tasks/${id}`)).body
    expect(task.status).toBe('killed')
    expect(task.error).toMatchObject({ message: expect.stringContaining('SIGINT') })
    expect((await post(`${base}/api/tasks/${id}/kill`, {})).status).toBe(409)

    // Events from here on: the worker may claim the task again before the answer arrives.
    const again = all.events.length
    expect((await post(`${base}/api/tasks/${id}/retry`, {})).body).toEqual({ retried: [id] })
    await all.waitFor('the retried task runs again', (e) => all.events.indexOf(e) >= again && statusIs(id, 'running')(e))
    const removed = await json(`${base}/api/tasks/${id}`, { method: 'DELETE' })
    expect(removed.body).toEqual({ deleted: 1 })
    expect((await json(`${base}/api/tasks/${id}`)).status).toBe(404)
    const port = new URL(base).port
    const busy = await s.run(['serve', '--port', port])
    expect(busy.code).toBe(1)
    expect(busy.stderr).toBe(`aque: port ${port} is in use on 127.0.0.1 (choose another with --port, or --port 0 for any free one)\n`)
    all.close()
    server.kill('SIGINT')
    expect(await exited(server)).toBe(0)

    const refused = await s.run(['serve', '--host', '0.0.0.0', '--port', '0'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/^aque: serve: refusing to listen on 0\.0\.0\.0: the API has no authentication.*--public/)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
  })
})
