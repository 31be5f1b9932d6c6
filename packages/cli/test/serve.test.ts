/**
 * `aque serve`'s routes, in process against the memory broker: the server listens on a free
 * port and is asked with fetch, as a browser or curl would.
 */
import { request } from 'node:http'
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Broker, Queue, type TaskPrototype, Worker, getBroker } from '@aque/core'
import '@aque/broker-memory'
import { type RunningServer, isLoopback, startServer } from '../src/serve/server.js'

let broker: Broker
let server: RunningServer
let base: string

beforeEach(async () => {
  broker = await getBroker(`memory:serve-${randomBytes(4).toString('hex')}`)
  server = await startServer(broker, { port: 0, version: 'test' })
  base = server.url.replace(/\/$/, '')
})
afterEach(async () => {
  await server.close()
  await broker.destroy()
  await broker.close()
})

const shell = (command: string, extra: Partial<TaskPrototype> = {}): TaskPrototype => ({ pattern: 'shell', args: ['/bin/sh', '-c', command], ...extra })

async function submit(...prototypes: TaskPrototype[]): Promise<number[]> {
  return (await new Queue({ broker }).submitMany(prototypes)).map((f) => f.id)
}

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(base + path)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function send(method: string, path: string, body?: unknown, type = 'application/json'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(base + path, { method, headers: { 'content-type': type }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

const idsOf = (body: Record<string, unknown>) => (body.tasks as Array<{ id: number }>).map((t) => t.id)

/** Reads Server-Sent Events from a response until `until` holds for what was read. */
async function readEvents(res: Response, until: (events: Array<{ event: string; data: unknown }>) => boolean) {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  const events: Array<{ event: string; data: unknown }> = []
  let buffer = ''
  while (!until(events)) {
    const { value, done } = await reader.read()
    if (done) throw new Error('the event stream ended')
    buffer += decoder.decode(value, { stream: true })
    let cut = buffer.indexOf('\n\n')
    while (cut >= 0) {
      const block = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1]
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (event && data) events.push({ event, data: JSON.parse(data) })
      cut = buffer.indexOf('\n\n')
    }
  }
  await reader.cancel()
  return events
}

describe('aque serve: page and listing', () => {
  it('serves one self-contained page at / that loads nothing from elsewhere', async () => {
    const res = await fetch(`${base}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'")
    const html = await res.text()
    expect(html).toContain('<title>aque</title>')
    expect(html).toContain("new EventSource('/api/events')")
    for (const column of ['ID', 'NAME', 'STATUS', 'PROGRESS', 'ELAPSED', 'WORKER']) expect(html).toContain(`<th${column === 'ID' || column === 'ELAPSED' ? ' class="num"' : ''}>${column}</th>`)
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//)
    expect(html).not.toContain('innerHTML')
    expect((await get('/api/info')).body).toMatchObject({ scheme: 'memory', version: 'test' })
  })

  it('lists tasks ascending with after, newest first with order=desc and before, by status, parent, user and ids', async () => {
    const [group] = await submit({ pattern: null, name: 'group' })
    const members = await submit(...[1, 2, 3].map((n) => shell(`echo ${n}`, { parent: group, name: `member ${n}` })))
    const [other] = await submit(shell('true', { user: 'somebody-else' }))
    const all = [group, ...members, other] as number[]

    const first = await get('/api/tasks?limit=2')
    expect(first.status).toBe(200)
    expect(idsOf(first.body)).toEqual(all.slice(0, 2))
    expect(first.body.next).toBe(all[1])
    const second = await get(`/api/tasks?limit=10&after=${first.body.next}`)
    expect(idsOf(second.body)).toEqual(all.slice(2))
    expect(second.body.next).toBeNull()

    const newest = await get('/api/tasks?order=desc&limit=2')
    expect(idsOf(newest.body)).toEqual([all[4], all[3]])
    const older = await get(`/api/tasks?order=desc&limit=10&before=${newest.body.next}`)
    expect(idsOf(older.body)).toEqual([all[2], all[1], all[0]])
    expect(older.body.next).toBeNull()

    expect(idsOf((await get(`/api/tasks?parent=${group}`)).body)).toEqual(members)
    expect(idsOf((await get('/api/tasks?user=somebody-else')).body)).toEqual([other])
    expect(idsOf((await get('/api/tasks?status=pending,running&order=desc&limit=1')).body)).toEqual([other])
    expect(idsOf((await get(`/api/tasks?ids=${other},999999,${group}`)).body)).toEqual([other, group])
    const row = (await get(`/api/tasks?ids=${members[0]}`)).body.tasks as Array<Record<string, unknown>>
    expect(row[0]).toMatchObject({ id: members[0], status: 'pending', name: 'member 1', command: 'member 1', parent: group, elapsed: null })
    expect(row[0]).not.toHaveProperty('environ')
  })

  it('finds the newest tasks among sparse ids beyond the first probe (ids over 1024, most removed)', async () => {
    const ids = await submit(...Array.from({ length: 1500 }, (_, i) => shell('true', { name: `t${i}`, priority: i % 3 })))
    const kept = ids.filter((id, i) => i % 97 === 0 || id === 1030 || id === 1024 || id === 1025)
    const gone = ids.filter((id) => !kept.includes(id))
    await broker.delete(gone)
    const expected = [...kept].sort((a, b) => b - a)
    expect(idsOf((await get('/api/tasks?order=desc&limit=5')).body)).toEqual(expected.slice(0, 5))
    const page = await get('/api/tasks?order=desc&limit=1000')
    expect(idsOf(page.body)).toEqual(expected)
    expect(idsOf((await get(`/api/tasks?order=desc&limit=3&before=1025`)).body)).toEqual(expected.filter((id) => id < 1025).slice(0, 3))
    expect((await get('/api/tasks?order=desc&status=running')).body).toEqual({ tasks: [], next: null })
  })
})

describe('aque serve: a task, its output and actions', () => {
  it('shows a finished task JSON-safe, with its output in base64 chunks from ?since=', async () => {
    const [ok, bad] = await submit(shell('echo hello; echo oops >&2', { name: 'greet', environ: { TOKEN: 'secret-value' } }), shell('exit 3'))
    await new Worker(broker, { pollMs: 50 }).runToEnd()
    const task = (await get(`/api/tasks/${ok}`)).body
    expect(task).toMatchObject({ id: ok, status: 'success', name: 'greet', command: 'greet', environKeys: ['TOKEN'] })
    expect(typeof task.elapsed).toBe('number')
    expect(typeof task.worker).toBe('string')
    expect(JSON.stringify(task)).not.toContain('secret-value')
    const failed = (await get(`/api/tasks/${bad}`)).body
    expect(failed.status).toBe('error')
    expect(failed.error).toMatchObject({ name: expect.any(String), message: expect.any(String) })

    const out = (await get(`/api/tasks/${ok}/output`)).body as { status: string; chunks: Array<{ seq: number; stream: string; data: string }>; next: number }
    expect(out.status).toBe('success')
    const text = (stream: string, chunks: typeof out.chunks) =>
      Buffer.concat(chunks.filter((c) => c.stream === stream).map((c) => Buffer.from(c.data, 'base64'))).toString()
    expect(text('stdout', out.chunks)).toBe('hello\n')
    expect(text('stderr', out.chunks)).toBe('oops\n')
    expect(out.next).toBe((out.chunks[out.chunks.length - 1]?.seq ?? -1) + 1)
    const later = (await get(`/api/tasks/${ok}/output?since=${out.next}`)).body
    expect(later).toMatchObject({ chunks: [], next: out.next })
  })

  it('kills, retries and removes tasks, refusing what does not apply with 409', async () => {
    const [a, b] = await submit(shell('sleep 30'), shell('true'))
    expect((await send('POST', `/api/tasks/${a}/kill`, {})).body).toEqual({ killed: [a], signal: 'SIGTERM' })
    expect((await get(`/api/tasks/${a}`)).body.status).toBe('killed')
    const again = await send('POST', `/api/tasks/${a}/kill`, { signal: 'INT' })
    expect(again.status).toBe(409)
    expect(again.body.error).toMatch(/already complete \(killed\)/)
    expect((await send('POST', `/api/tasks/${a}/retry`, {})).body).toEqual({ retried: [a] })
    expect((await get(`/api/tasks/${a}`)).body.status).toBe('pending')
    expect((await send('POST', `/api/tasks/${a}/retry`, {})).status).toBe(409)

    await broker.kill([a as number])
    await new Worker(broker, { pollMs: 50 }).runToEnd()
    expect((await get(`/api/tasks/${b}`)).body.status).toBe('success')
    const refused = await send('POST', `/api/tasks/${b}/retry`, {})
    expect(refused.status).toBe(409)
    expect(refused.body.error).toMatch(/includeSuccess/)
    expect((await send('POST', `/api/tasks/${b}/retry`, { includeSuccess: true })).body).toEqual({ retried: [b] })

    const [c] = await submit(shell('true'))
    expect((await send('POST', `/api/tasks/${c}/kill`, { signal: 'USR1' })).body).toEqual({ signalled: [], signal: 'SIGUSR1' })
    expect((await get(`/api/tasks/${c}`)).body.status).toBe('pending')
    const removed = await fetch(`${base}/api/tasks/${c}`, { method: 'DELETE' })
    expect(await removed.json()).toEqual({ deleted: 1 })
    expect((await get(`/api/tasks/${c}`)).status).toBe(404)
    expect((await get('/api/counts')).body).toMatchObject({ pending: 1, running: 0 })
  })

  it('kills a task with what it depends on (dependencies: true); a group stands for its tasks', async () => {
    const [dep] = await submit(shell('true'))
    const [top] = await submit(shell('true', { dependencies: [dep as number] }))
    expect((await send('POST', `/api/tasks/${top}/kill`, { dependencies: true })).body).toEqual({ killed: [top, dep], signal: 'SIGTERM' })
    const [group] = await submit({ pattern: null })
    const members = await submit(shell('true', { parent: group }), shell('true', { parent: group }))
    expect((await send('POST', `/api/tasks/${group}/kill`, {})).body).toEqual({ killed: [...members].reverse(), signal: 'SIGTERM' })
    expect((await send('POST', `/api/tasks/${group}/retry`, {})).body).toEqual({ retried: members })
  })
})

describe('aque serve: validation and errors', () => {
  it('answers 400 naming the field for bad query parameters, path ids and bodies', async () => {
    const cases: Array<[string, number, RegExp]> = [
      ['/api/tasks?status=error,bogus', 400, /^status: "bogus" is not a state/],
      ['/api/tasks?status=', 400, /^status: names no state/],
      ['/api/tasks?limit=0', 400, /^limit: /],
      ['/api/tasks?limit=5000', 400, /^limit: /],
      ['/api/tasks?limit=ten', 400, /^limit: /],
      ['/api/tasks?after=-1', 400, /^after: /],
      ['/api/tasks?parent=x', 400, /^parent: /],
      ['/api/tasks?order=sideways', 400, /^order: /],
      ['/api/tasks?order=desc&after=3', 400, /^after: /],
      ['/api/tasks?before=3', 400, /^before: /],
      ['/api/tasks?ids=1,x', 400, /^ids: /],
      ['/api/tasks?ids=1&status=error', 400, /^ids: /],
      ['/api/tasks?limit=1&limit=2', 400, /^limit: given more than once/],
      ['/api/tasks?colour=red', 400, /colour/],
      ['/api/tasks/abc', 400, /^id: /],
      ['/api/tasks/0', 400, /^id: /],
      ['/api/tasks/%E0', 400, /^path: malformed/],
      ['/api/tasks/99999999999999999999', 400, /^id: /],
      ['/api/tasks/5/output?since=-1', 400, /^since: /],
      ['/api/events?task=nope', 400, /^task: /],
      ['/api/counts?x=1', 400, /x/],
      ['/api/tasks/424242', 404, /^no task 424242$/],
      ['/api/tasks/424242/output', 404, /^no task 424242$/],
      ['/api/nothing', 404, /^no such route: GET \/api\/nothing$/],
      ['/favicon.ico', 404, /^no such route/],
    ]
    for (const [path, status, error] of cases) {
      const res = await get(path)
      expect(res.status, path).toBe(status)
      expect(String(res.body.error), path).toMatch(error)
    }
  })

  it('validates bodies: JSON objects only, known fields, right types; JSON content type required for POST', async () => {
    const [id] = await submit(shell('true'))
    const cases: Array<[string, unknown, string, number, RegExp]> = [
      ['kill', { signal: 'NOPE' }, 'application/json', 400, /^signal: "NOPE" is not a signal/],
      ['kill', { signal: true }, 'application/json', 400, /^signal: /],
      ['kill', { dependencies: 'yes' }, 'application/json', 400, /^dependencies: must be true or false/],
      ['kill', { force: true }, 'application/json', 400, /force/],
      ['kill', [1], 'application/json', 400, /^body: /],
      ['kill', '{not json', 'application/json', 400, /^body: not valid JSON/],
      ['kill', { signal: 'INT' }, 'text/plain', 415, /^body: send application\/json/],
      ['retry', { includeSuccess: 1 }, 'application/json', 400, /^includeSuccess: must be true or false/],
    ]
    for (const [action, body, type, status, error] of cases) {
      const res = await send('POST', `/api/tasks/${id}/${action}`, body, type)
      expect(res.status, `${action} ${JSON.stringify(body)}`).toBe(status)
      expect(String(res.body.error)).toMatch(error)
    }
    // A body-less POST (what a cross-site form or beacon can send without asking) is refused.
    const bare = await fetch(`${base}/api/tasks/${id}/kill`, { method: 'POST' })
    expect(bare.status).toBe(415)
    expect((await send('PUT', `/api/tasks/${id}`, {})).status).toBe(405)
    expect((await get(`/api/tasks/${id}`)).body.status).toBe('pending')
  })

  it('answers a broker failure with 500 and one line, passwords hidden, reported through onError', async () => {
    const lines: string[] = []
    const failing = await startServer(broker, { port: 0, onError: (line) => lines.push(line) })
    const counts = broker.counts.bind(broker)
    broker.counts = () => Promise.reject(new Error('could not reach postgres://aque:hunter2@db:5432/aque\nsecond line'))
    try {
      const res = await fetch(`${failing.url}api/counts`)
      expect(res.status).toBe(500)
      expect(await res.json()).toEqual({ error: 'could not reach postgres://aque:***@db:5432/aque' })
      expect(lines).toEqual(['GET /api/counts: could not reach postgres://aque:***@db:5432/aque'])
    } finally {
      broker.counts = counts
      await failing.close()
    }
  })

  it('tells loopback addresses from others', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', 'LOCALHOST', '::1', '[::1]', 'app.localhost']) expect(isLoopback(host), host).toBe(true)
    for (const host of ['0.0.0.0', '::', '192.168.1.2', 'example.com', 'localhost.example.com', '128.0.0.1']) expect(isLoopback(host), host).toBe(false)
  })

  it('answers only to loopback host names unless public (no DNS rebinding)', async () => {
    const ask = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path: '/api/counts', headers: { host } }, (res) => {
          let body = ''
          res.on('data', (d: Buffer) => (body += d.toString()))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on('error', reject)
        req.end()
      })
    expect((await ask(`localhost:${server.port}`)).status).toBe(200)
    expect((await ask(`[::1]:${server.port}`)).status).toBe(200)
    const refused = await ask(`attacker.example:${server.port}`)
    expect(refused.status).toBe(403)
    expect(JSON.parse(refused.body).error).toMatch(/^host: /)
    const open = await startServer(broker, { port: 0, public: true })
    try {
      const res = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: open.port, path: '/api/counts', headers: { host: 'queue.internal' } }, (r) => {
          r.resume()
          resolve(r.statusCode ?? 0)
        })
        req.on('error', reject)
        req.end()
      })
      expect(res).toBe(200)
    } finally {
      await open.close()
    }
  })
})

describe('aque serve: live events', () => {
  it('relays task_status always, task_output and task_progress for ?task=ID, after a ready event', async () => {
    const [id, other] = await submit(shell('true'), shell('true'))
    const res = await fetch(`${base}/api/events?task=${id}`)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const events: Array<{ event: string; data: unknown }> = []
    let acted = false
    const seen = await readEvents(res, (sofar) => {
      events.splice(0, events.length, ...sofar)
      if (!acted && sofar.some((e) => e.event === 'ready')) {
        acted = true
        void (async () => {
          await broker.appendOutput(id as number, [{ stream: 'stdout', data: Buffer.from('línea\n'), time: Date.now() }])
          await broker.appendOutput(other as number, [{ stream: 'stdout', data: Buffer.from('not this one\n'), time: Date.now() }])
          await broker.progress(id as number, { done: 2, total: 5, message: 'halfway' })
          await broker.kill([id as number])
        })()
      }
      return sofar.some((e) => e.event === 'task_status' && (e.data as { status: string }).status === 'killed')
    })
    expect(seen[0]).toEqual({ event: 'ready', data: { task: id } })
    const output = seen.filter((e) => e.event === 'task_output').map((e) => e.data as { id: number; stream: string; offset: number; data: string })
    expect(output).toHaveLength(1)
    expect(output[0]).toMatchObject({ id, stream: 'stdout', offset: 0 })
    expect(Buffer.from(output[0]?.data ?? '', 'base64').toString()).toBe('línea\n')
    expect(seen.find((e) => e.event === 'task_progress')?.data).toEqual({ id, done: 2, total: 5, message: 'halfway' })
    expect(seen.find((e) => e.event === 'task_status')?.data).toEqual({ ids: [id], status: 'killed' })
  })
})
