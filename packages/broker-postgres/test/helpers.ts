import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterEach } from 'vitest'
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

/** Another broker on the schema of `b`, listening (another process, in effect); close it, do not destroy it. */
export async function sameSchema(b: PostgresBroker): Promise<PostgresBroker> {
  const other = new PostgresBroker(b.toUrl())
  await other.ready()
  return other
}

/** A plain connection for looking at the database directly. */
export async function sqlClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: SERVER })
  await client.connect()
  return client
}

/**
 * Fresh brokers for the tests of a file, destroyed and closed after each test: call at the top
 * level of the file; the function it returns makes one (`ready()` too when `listening`).
 */
export function brokersPerTest(): (options?: { listening?: boolean }) => Promise<PostgresBroker> {
  const brokers: PostgresBroker[] = []
  afterEach(async () => {
    for (const b of brokers.splice(0)) {
      await b.destroy()
      await b.close()
    }
  })
  return async (options = {}) => {
    const b = await freshBroker()
    brokers.push(b)
    if (options.listening) await b.ready()
    return b
  }
}
