import { ValidationError, redactUrl } from '@aque/core'
import { z } from 'zod'

/** Where a Redis broker keeps its data. */
export interface RedisLocation {
  /** @default "127.0.0.1" */
  host: string
  /** @default 6379 */
  port: number
  /** Database number. @default 0 */
  db: number
  /** @default none */
  username: string | null
  /** @default none */
  password: string | null
  /** `rediss://`: connect with TLS. @default false */
  tls: boolean
  /** Every key starts with `<prefix>:`, so several queues share one Redis. @default "aque" */
  prefix: string
}

// No ":": a prefix "a" must not own the keys of a prefix "a:b" (destroy() removes "a:*").
const PREFIX = /^[A-Za-z0-9_.-]+$/

const locationSchema = z.object({
  host: z.string().min(1, 'host is empty'),
  port: z.coerce.number().int().min(1).max(65535),
  db: z.coerce.number().int().min(0).max(65535),
  username: z.string().nullable(),
  password: z.string().nullable(),
  tls: z.boolean(),
  prefix: z.string().regex(PREFIX, 'prefix may hold only letters, digits and _ . -'),
})

/** Parses `redis://[[user]:password@]host[:port][/db][?prefix=NAME]` (or `rediss://`). */
export function parseRedisUrl(url: URL | string): RedisLocation {
  const u = typeof url === 'string' ? new URL(url) : url
  const scheme = u.protocol.slice(0, -1).toLowerCase()
  if (scheme !== 'redis' && scheme !== 'rediss') {
    throw new ValidationError(`broker URL "${redactUrl(u)}": not a redis:// or rediss:// URL`)
  }
  for (const key of u.searchParams.keys()) {
    if (key !== 'prefix') throw new ValidationError(`broker URL "${redactUrl(u)}": unknown option "${key}" (known: prefix)`)
  }
  const path = u.pathname.replace(/^\//, '')
  const parsed = locationSchema.safeParse({
    host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: u.port || 6379,
    db: path === '' ? 0 : path,
    username: u.username ? decodeURIComponent(u.username) : null,
    password: u.password ? decodeURIComponent(u.password) : null,
    tls: scheme === 'rediss',
    prefix: u.searchParams.get('prefix') ?? 'aque',
  })
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ValidationError(`broker URL "${redactUrl(u)}": ${issue?.path.join('.') || 'url'}: ${issue?.message ?? 'invalid'}`)
  }
  return parsed.data
}

/** The URL of a location; `hidePassword` replaces the password with `***`. */
export function formatRedisUrl(loc: RedisLocation, options: { hidePassword?: boolean } = {}): string {
  const scheme = loc.tls ? 'rediss' : 'redis'
  const host = loc.host.includes(':') ? `[${loc.host}]` : loc.host
  let auth = ''
  if (loc.username !== null || loc.password !== null) {
    const user = loc.username === null ? '' : encodeURIComponent(loc.username)
    const pass = loc.password === null ? '' : `:${options.hidePassword ? '***' : encodeURIComponent(loc.password)}`
    auth = `${user}${pass}@`
  }
  return `${scheme}://${auth}${host}:${loc.port}/${loc.db}?prefix=${encodeURIComponent(loc.prefix)}`
}
