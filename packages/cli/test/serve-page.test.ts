/**
 * The page's script, run in a small stand-in for a browser (a DOM of plain objects, an
 * EventSource over fetch) against the real server on the memory broker: it renders counts
 * and rows, follows status changes and new tasks live, shows a task's output as it is
 * written, and its kill button kills. No browser is needed, so this runs everywhere.
 */
import { randomBytes } from 'node:crypto'
import { createContext, runInContext } from 'node:vm'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Broker, Queue, getBroker } from '@aque/core'
import '@aque/broker-memory'
import { PAGE_HTML } from '../src/serve/page.js'
import { type RunningServer, startServer } from '../src/serve/server.js'

class FakeText {
  parent: FakeElement | null = null
  constructor(public text: string) {}
  get textContent(): string {
    return this.text
  }
}

type Child = FakeElement | FakeText

class FakeElement {
  parent: FakeElement | null = null
  children: Child[] = []
  attributes = new Map<string, string>()
  style: Record<string, string> = {}
  className = ''
  disabled = false
  scrollTop = 0
  clientHeight = 100
  scrollHeight = 100
  onclick: (() => void) | null = null
  constructor(readonly tagName: string) {}
  get classList() {
    const tokens = () => new Set(this.className.split(/\s+/).filter(Boolean))
    return {
      add: (c: string) => (this.className = [...tokens().add(c)].join(' ')),
      remove: (c: string) => {
        const t = tokens()
        t.delete(c)
        this.className = [...t].join(' ')
      },
      contains: (c: string) => tokens().has(c),
    }
  }
  get dataset(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [k, v] of this.attributes) if (k.startsWith('data-')) out[k.slice(5)] = v
    return out
  }
  setAttribute(name: string, value: string) {
    this.attributes.set(name, value)
  }
  append(...nodes: Array<Child | string>) {
    for (const n of nodes) {
      const node = typeof n === 'string' ? new FakeText(n) : n
      if (node instanceof FakeElement && node.tagName === '#fragment') {
        this.append(...node.children.splice(0))
        continue
      }
      node.parent = this
      this.children.push(node)
    }
  }
  replaceChildren(...nodes: Array<Child | string>) {
    this.children = []
    this.append(...nodes)
  }
  get textContent(): string {
    return this.children.map((c) => c.textContent).join('')
  }
  set textContent(text: string) {
    this.replaceChildren(String(text))
  }
  querySelector(selector: string): FakeElement | null {
    const cls = selector.replace(/^\./, '')
    for (const c of this.children) {
      if (!(c instanceof FakeElement)) continue
      if (c.className.split(/\s+/).includes(cls)) return c
      const deep = c.querySelector(selector)
      if (deep) return deep
    }
    return null
  }
}

/** Every id the script looks up must exist in the page. */
function scriptOf(html: string): string {
  return /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? ''
}

let broker: Broker
let server: RunningServer
let base: string
let stop: () => void

beforeEach(async () => {
  broker = await getBroker(`memory:page-${randomBytes(4).toString('hex')}`)
  server = await startServer(broker, { port: 0 })
  base = server.url.replace(/\/$/, '')
})
afterEach(async () => {
  stop?.()
  await server.close()
  await broker.destroy()
  await broker.close()
})

/** Runs the page's script; returns its elements by id and a way to change the location hash. */
function runPage() {
  const elements = new Map<string, FakeElement>()
  const byId = (id: string) => {
    let e = elements.get(id)
    if (!e) {
      e = new FakeElement('div')
      elements.set(id, e)
    }
    return e
  }
  const timers: NodeJS.Timeout[] = []
  const sources: Array<{ close(): void }> = []
  const hashListeners: Array<() => void> = []
  const location = { hash: '' }
  const pageFetch = (path: string, init?: RequestInit) => fetch(base + path, init)
  class FakeEventSource {
    private readonly listeners = new Map<string, Array<(e: { data: string }) => void>>()
    private readonly controller = new AbortController()
    onerror: (() => void) | null = null
    constructor(path: string) {
      sources.push(this)
      void this.read(path).catch(() => this.onerror?.())
    }
    addEventListener(name: string, fn: (e: { data: string }) => void) {
      this.listeners.set(name, [...(this.listeners.get(name) ?? []), fn])
    }
    close() {
      this.controller.abort()
    }
    private async read(path: string) {
      const res = await fetch(base + path, { signal: this.controller.signal })
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
          if (event && data) for (const fn of this.listeners.get(event) ?? []) fn({ data })
          cut = buffer.indexOf('\n\n')
        }
      }
    }
  }
  const document = {
    title: '',
    getElementById: byId,
    createElement: (tag: string) => new FakeElement(tag),
    createDocumentFragment: () => new FakeElement('#fragment'),
    createTextNode: (text: string) => new FakeText(text),
  }
  const context = createContext({
    document,
    location,
    fetch: pageFetch,
    EventSource: FakeEventSource,
    TextDecoder,
    URLSearchParams,
    atob,
    confirm: () => true,
    console,
    setTimeout: (fn: () => void, ms: number) => {
      const t = setTimeout(fn, ms)
      timers.push(t)
      return t
    },
    clearTimeout,
    setInterval: (fn: () => void, ms: number) => {
      const t = setInterval(fn, ms)
      timers.push(t)
      return t
    },
    window: { addEventListener: (name: string, fn: () => void) => name === 'hashchange' && hashListeners.push(fn) },
  })
  runInContext(scriptOf(PAGE_HTML), context)
  stop = () => {
    for (const t of timers) clearTimeout(t)
    for (const s of sources) s.close()
  }
  return {
    $: byId,
    go(hash: string) {
      location.hash = hash
      for (const fn of hashListeners) fn()
    },
    rows: () =>
      byId('rows').children.map((tr) =>
        (tr as FakeElement).children.map((td) => td.textContent),
      ),
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('aque serve: the page', () => {
  it('looks up only elements the page has', () => {
    const ids = [...scriptOf(PAGE_HTML).matchAll(/\$\('([\w-]+)'\)/g)].map((m) => m[1] as string)
    expect(ids.length).toBeGreaterThan(10)
    for (const id of new Set(ids)) expect(PAGE_HTML, id).toContain(`id="${id}"`)
  })

  it('renders counts and rows, follows changes and new tasks live, shows output as it comes, and kills', async () => {
    const queue = new Queue({ broker })
    const first = await queue.submitEx({ pattern: 'shell', args: ['echo', 'one'], name: 'first' })
    const second = await queue.submitEx({ pattern: 'shell', args: ['sleep', '5'] })
    const page = runPage()
    await until('two rows', () => page.rows().length === 2)
    expect(page.rows()).toEqual([
      [String(second.id), 'sleep 5', 'pending', '', '', ''],
      [String(first.id), 'first', 'pending', '', '', ''],
    ])
    await until('counts', () => page.$('counts').textContent.includes('2pending'))
    expect(page.$('counts').textContent).toMatch(/^2all/)
    expect(page.$('live').textContent).toBe('live')

    await broker.kill([first.id])
    await until('the killed row', () => page.rows()[1]?.[2] === 'killed')
    const third = await queue.submitEx({ pattern: 'shell', args: ['true'], name: 'third' })
    await until('the new row on top', () => page.rows()[0]?.[0] === String(third.id))
    await until('counts follow', () => page.$('counts').textContent.includes('1killed'))

    page.go(`#task=${second.id}`)
    await until('the detail', () => page.$('fields').textContent.includes('sleep 5'))
    expect(page.$('detail').style.display).toBe('block')
    await broker.appendOutput(second.id, [{ stream: 'stdout', data: Buffer.from('héllo '), time: Date.now() }])
    await broker.appendOutput(second.id, [{ stream: 'stderr', data: Buffer.from('warn\n'), time: Date.now() }])
    await broker.appendOutput(second.id, [{ stream: 'stdout', data: Buffer.from('world\n'), time: Date.now() }])
    await broker.progress(second.id, { done: 3, total: 4, message: 'nearly' })
    await until('the output', () => page.$('out').textContent === 'héllo warn\nworld\n')
    await until('the progress', () => page.rows()[1]?.[3] === '3/4 nearly')
    expect(page.$('kill').disabled).toBe(false)
    page.$('kill').onclick?.()
    await until('the task is killed', async () => (await broker.fetch([second.id], ['status'])).get(second.id)?.status === 'killed')
    await until('the detail shows it', () => page.$('fields').textContent.includes('killed') && page.$('kill').disabled)
    expect(page.$('retry').disabled).toBe(false)
  })
})
