import { ValidationError, redactUrl } from '@aque/core'
import { z } from 'zod'

/** `sslmode` values, as libpq names them. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const
export type SslMode = (typeof SSL_MODES)[number]

/** Schemas aque refuses to own: `destroy()` drops the whole schema. */
const RESERVED_SCHEMAS = new Set(['public', 'information_schema'])

const schemaName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be letters, digits and underscores, not starting with a digit')
  .max(50, 'must be at most 50 characters')
  .refine((s) => !RESERVED_SCHEMAS.has(s.toLowerCase()) && !s.toLowerCase().startsWith('pg_'), 'is reserved: destroy() drops the whole schema, pick a schema of its own')

const optionsSchema = z.strictObject({
  scheme: z.enum(['postgres', 'postgresql']),
  user: z.string().optional(),
  password: z.string().optional(),
  host: z.string().optional(),
  port: z.coerce.number().int().min(1).max(65535).optional(),
  database: z.string().optional(),
  schema: schemaName.default('aque'),
  sslmode: z.enum(SSL_MODES).optional(),
  applicationName: z.string().max(63).default('aque'),
})

/** Where a PostgreSQL broker keeps its data, parsed from its URL. */
export type PostgresOptions = z.infer<typeof optionsSchema>

const QUERY_KEYS: Record<string, 'schema' | 'sslmode' | 'applicationName'> = {
  schema: 'schema',
  sslmode: 'sslmode',
  application_name: 'applicationName',
}

const decode = (s: string): string | undefined => (s === '' ? undefined : decodeURIComponent(s))

/**
 * Parses `postgres://user:pass@host:port/db?schema=NAME&sslmode=MODE&application_name=NAME`.
 * Every part is optional (libpq defaults apply) except that the query may hold only those keys.
 * Errors name the part and never show the password.
 */
export function parsePostgresUrl(input: string | URL): PostgresOptions {
  let url: URL
  try {
    url = new URL(String(input))
  } catch {
    throw new ValidationError(`broker URL "${redactUrl(String(input))}" is not a valid URL`)
  }
  const raw: Record<string, unknown> = {
    scheme: url.protocol.slice(0, -1).toLowerCase(),
    user: decode(url.username),
    password: decode(url.password),
    host: decode(url.hostname),
    port: url.port === '' ? undefined : url.port,
    database: decode(url.pathname.replace(/^\//, '')),
  }
  for (const [key, value] of url.searchParams) {
    const name = QUERY_KEYS[key]
    if (!name) throw new ValidationError(`broker URL "${redactUrl(url)}": unknown parameter "${key}" (known: ${Object.keys(QUERY_KEYS).join(', ')})`)
    raw[name] = value
  }
  const parsed = optionsSchema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ValidationError(`broker URL "${redactUrl(url)}": ${String(issue?.path[0] ?? 'value')} ${issue?.message ?? 'is invalid'}`)
  }
  return parsed.data
}

/** The URL of these options; `hidePassword` shows `***` instead of the password. */
export function formatPostgresUrl(o: PostgresOptions, hidePassword = false): string {
  let auth = ''
  if (o.user !== undefined || o.password !== undefined) {
    auth = encodeURIComponent(o.user ?? '')
    if (o.password !== undefined) auth += `:${hidePassword ? '***' : encodeURIComponent(o.password)}`
    auth += '@'
  }
  const host = o.host ?? ''
  const port = o.port === undefined ? '' : `:${o.port}`
  const query = new URLSearchParams({ schema: o.schema })
  if (o.sslmode) query.set('sslmode', o.sslmode)
  if (o.applicationName !== 'aque') query.set('application_name', o.applicationName)
  return `${o.scheme}://${auth}${host}${port}/${encodeURIComponent(o.database ?? '')}?${query}`
}

/** pg's `ssl` option for a libpq `sslmode`. */
export function sslOption(mode: SslMode | undefined): false | { rejectUnauthorized: boolean; checkServerIdentity?: () => undefined } {
  switch (mode) {
    case undefined:
    case 'disable':
    // pg cannot fall back from TLS to plain text, so `allow`/`prefer` connect in plain text.
    case 'allow':
    case 'prefer':
      return false
    case 'require':
      return { rejectUnauthorized: false }
    case 'verify-ca':
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined }
    case 'verify-full':
      return { rejectUnauthorized: true }
  }
}
