import { BrokerConnectionError, DependencyResolutionError } from '@aque/core'
import pg from 'pg'
import { type PostgresOptions, formatPostgresUrl, sslOption } from './url.js'

const int8 = (text: string): number => Number(text)
// The int4[] parser (oid 1007) reads each element with parseInt, right for ids and ms times.
const int4Array = (pg.types.getTypeParser as (oid: number, format: 'text') => (text: string) => number[])(1007, 'text')
const INT8_OID = 20
const INT8_ARRAY_OID = 1016

/**
 * Type parsers of this broker's connections only (the global pg.types stay untouched): bigint
 * ids and ms times come back as numbers, which they always fit.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return int8
    if (oid === INT8_ARRAY_OID) return int4Array
    return pg.types.getTypeParser(oid, format)
  },
} as pg.CustomTypesConfig

/** pg connection settings of a broker URL. */
export function clientConfig(o: PostgresOptions): pg.ClientConfig {
  return {
    host: o.host?.replace(/^\[(.*)\]$/, '$1'),
    port: o.port,
    user: o.user,
    password: o.password,
    database: o.database,
    ssl: sslOption(o.sslmode),
    application_name: o.applicationName,
    connectionTimeoutMillis: 10_000,
    types,
  }
}

/** SQLSTATEs of a transaction that lost a lock race: running it again is safe. */
const RETRYABLE_STATES = new Set(['40001', '40P01'])
/** SQLSTATEs of a connection that went away (terminated backend, server restart). */
const LOST_STATES = new Set(['57P01', '57P02', '57P03'])

/** A driver-level failure (socket, protocol): a plain Error or a Node system error, never a bug's TypeError. */
function isDriverError(err: Error): boolean {
  return err.constructor === Error || typeof (err as { code?: unknown }).code === 'string'
}

function sqlState(err: unknown): string | null {
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null
}

/**
 * Whether an operation that failed with `err` may simply be sent again: the connection was
 * lost before an answer (pg reports those without a SQLSTATE, or with class 08/57P), or the
 * server rolled the transaction back to break a deadlock.
 */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const state = sqlState(err)
  if (state === null) return isDriverError(err)
  return state.startsWith('08') || LOST_STATES.has(state) || RETRYABLE_STATES.has(state)
}

/**
 * The one place where PostgreSQL and driver errors become aque errors: unknown dependency
 * (raised by the submit function as AQ001), connection problems (with the URL, password
 * hidden), the rest unchanged.
 */
export function translateError(err: unknown, options: PostgresOptions): unknown {
  if (!(err instanceof Error)) return err
  const state = sqlState(err)
  if (state === 'AQ001') return new DependencyResolutionError(err.message)
  const where = formatPostgresUrl(options, true)
  if (state === '3D000') return new BrokerConnectionError(`PostgreSQL at ${where}: database "${options.database ?? ''}" does not exist`, { cause: err })
  if (state?.startsWith('28')) return new BrokerConnectionError(`PostgreSQL at ${where} refused the login: ${hidePassword(err.message, options)}`, { cause: err })
  if ((state === null && isDriverError(err)) || state?.startsWith('08') || (state !== null && LOST_STATES.has(state)) || state === '53300') {
    return new BrokerConnectionError(`cannot reach PostgreSQL at ${where}: ${hidePassword(err.message, options) || String(sqlStateOrCode(err))}`, { cause: err })
  }
  return err
}

function sqlStateOrCode(err: Error): string {
  return String((err as { code?: unknown }).code ?? err.name)
}

function hidePassword(message: string, options: PostgresOptions): string {
  const pw = options.password
  return pw ? message.split(pw).join('***') : message
}
