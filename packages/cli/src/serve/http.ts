import type { IncomingMessage, ServerResponse } from 'node:http'
import type { z } from 'zod'

/** An error answered as `{ error }` with this HTTP status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

/** Largest request body accepted, bytes: the API takes a few flags, never data. */
const MAX_BODY_BYTES = 64 * 1024

/** Headers every answer carries: no caching of live data, no sniffing, no framing by other sites. */
const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
}

/** Answers with a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** Answers with an HTML page; the policy forbids anything not inline in the page itself. */
export function sendHtml(res: ServerResponse, html: string): void {
  res.writeHead(200, {
    ...COMMON_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'content-security-policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'",
  })
  res.end(html)
}

/** Starts an event stream (Server-Sent Events). */
export function startEventStream(res: ServerResponse): void {
  res.writeHead(200, { ...COMMON_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' })
  // Tells the browser how long to wait before reconnecting, and opens the stream at once.
  res.write('retry: 2000\n\n')
}

/** One event on an event stream. */
export function sendEvent(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
}

/** "status: must be one of …": the first problem of a zod error, naming the field. */
export function describeIssue(error: z.ZodError, where: string): string {
  const issue = error.issues[0]
  if (!issue) return `${where}: invalid`
  // The field, not the position in it: "ids: …" rather than "ids.1: …".
  const field = issue.path.filter((p) => typeof p === 'string').join('.') || where
  return `${field}: ${issue.message}`
}

/** Validates a value against a schema; a 400 naming the field otherwise. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new HttpError(400, describeIssue(parsed.error, where))
  return parsed.data
}

/** The query string as a plain object; a parameter given twice is a 400 (it would be ambiguous). */
export function queryOf(url: URL): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of url.searchParams) {
    if (key in out) throw new HttpError(400, `${key}: given more than once`)
    out[key] = value
  }
  return out
}

/**
 * Reads a JSON body. An empty body is `{}`. Anything but `application/json` is refused (415):
 * a cross-site form can post text/plain without asking, but not JSON.
 */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body: larger than ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  const type = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (text.trim() === '') {
    if (type !== '' && type !== 'application/json') throw new HttpError(415, 'body: send application/json')
    if (type === '' && req.method === 'POST') throw new HttpError(415, 'body: send application/json (an empty object is fine)')
    return {}
  }
  if (type !== 'application/json') throw new HttpError(415, 'body: send application/json')
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new HttpError(400, 'body: not valid JSON')
  }
}
