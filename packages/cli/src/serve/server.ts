import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { AqueError, type Broker, redactUrl } from '@aque/core'
import { describeError } from '../lib/errors.js'
import { HttpError, sendHtml, sendJson } from './http.js'
import { PAGE_HTML } from './page.js'
import { type Route, apiRoutes } from './routes.js'

/** Options of `startServer`. */
export interface ServeOptions {
  /** Address to bind. @default '127.0.0.1' */
  host?: string
  /** Port to bind; 0 picks a free one. @default 8080 */
  port?: number
  /**
   * Whether requests naming any host are served. When false, only requests whose `Host`
   * header names a loopback address or `localhost` are: a web page elsewhere cannot then
   * reach the API through a DNS name that resolves to 127.0.0.1 (DNS rebinding).
   * @default false
   */
  public?: boolean
  /** Version shown by `/api/info`. @default '' */
  version?: string
  /** Called with one line for each request that failed on the server side (500). @default none */
  onError?: (line: string) => void
}

/** A running server. */
export interface RunningServer {
  /** The address to open, e.g. `http://127.0.0.1:8080/`. */
  url: string
  port: number
  server: Server
  /** Stops listening and ends open connections (event streams included). */
  close(): Promise<void>
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

/** Whether `host` (an address or name to bind) is a loopback one. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase()
  return LOOPBACK_HOSTS.has(h) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h.endsWith('.localhost')
}

/** The host part of a `Host` header ("127.0.0.1:8080" → "127.0.0.1", "[::1]:80" → "::1"). */
function hostOfHeader(header: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(header) ?? /^([^:]+)(?::\d+)?$/.exec(header)
  return m?.[1] ?? header
}

/** A message with the password of any URL in it hidden (a driver may quote the URL it used). */
function hidePasswords(text: string): string {
  return text.replace(/\/\/([^:/@\s]*):[^@/\s]*@/g, '//$1:***@')
}

/** A path parameter, percent-decoded; a malformed escape is the client's mistake (400). */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    throw new HttpError(400, 'path: malformed percent-encoding')
  }
}

/** The HTTP status and message of anything a handler threw. */
function failure(err: unknown): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message }
  if (err instanceof AqueError && err.code === 'AQUE_VALIDATION') return { status: 400, message: describeError(err).message }
  if (err instanceof AqueError && err.code === 'AQUE_TASK_NOT_FOUND') return { status: 404, message: describeError(err).message }
  return { status: 500, message: hidePasswords(describeError(err).message) }
}

/** Starts the HTTP API and the page on `broker`. Resolves once it listens. */
export async function startServer(broker: Broker, options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1'
  const info = () => ({ broker: redactUrl(broker.displayUrl()), scheme: broker.scheme, shared: broker.capabilities.shared, version: options.version ?? '' })
  const routes: Route[] = apiRoutes(info)

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!options.public && !isLoopback(hostOfHeader(String(req.headers.host ?? '')))) {
      throw new HttpError(403, 'host: this server answers only to loopback addresses (start it with --public to serve other names)')
    }
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = url.pathname
    if (path === '/' || path === '/index.html') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `method: ${req.method} is not allowed here`)
      sendHtml(res, PAGE_HTML)
      return
    }
    let pathMatched = false
    for (const route of routes) {
      const m = route.pattern.exec(path)
      if (!m) continue
      pathMatched = true
      if (route.method !== req.method) continue
      const body = await route.handler({ broker, req, res, url, params: m.slice(1).map(decodePart) })
      if (body !== undefined) sendJson(res, 200, body)
      return
    }
    if (pathMatched) throw new HttpError(405, `method: ${req.method} is not allowed on ${path}`)
    throw new HttpError(404, `no such route: ${req.method} ${path}`)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const { status, message } = failure(err)
      if (status >= 500) options.onError?.(`${req.method} ${req.url}: ${message}`)
      if (res.headersSent) res.end()
      else sendJson(res, status, { error: message })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const shownHost = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        // Event streams never end by themselves.
        server.closeAllConnections()
      }),
  }
}
