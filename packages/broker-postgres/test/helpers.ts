import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { PostgresBroker } from '../src/index.js'

/** The server every test of this package uses. */
export const SERVER = 'postgres://postgres@127.0.0.1:5432/test'

/** A schema name of its own for one test. */
export function randomSchema(label = 't'): string {
  return `aque_${label}_${randomBytes(5).toString('hex')}`
}

/** A broker on a fresh schema, initialised. */
export async function freshBroker(): Promise<PostgresBroker> {
  const broker = new PostgresBroker(`${SERVER}?schema=${randomSchema()}`)
  await broker.init()
  return broker
}

/** A plain connection for looking at the database directly. */
export async function sqlClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: SERVER })
  await client.connect()
  return client
}
