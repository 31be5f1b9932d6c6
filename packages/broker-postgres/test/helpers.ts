import { randomBytes } from 'node:crypto'

/** The server every test of this package uses. */
export const SERVER = 'postgres://postgres@127.0.0.1:5432/test'

/** A schema name of its own for one test. */
export function randomSchema(label = 't'): string {
  return `aque_${label}_${randomBytes(5).toString('hex')}`
}
