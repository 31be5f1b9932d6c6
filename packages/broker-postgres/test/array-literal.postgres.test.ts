/**
 * Arrays between the broker and the real server. The literals it sends for batches
 * (array-literal.ts) are read by the server as the arrays they stand for: texts with quotes,
 * backslashes, braces, commas, spaces, the word NULL, non-ASCII and empty strings; nulls;
 * integers up to 2^53 − 1. And the bigint[] it reads back (connection.ts) are numbers.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { intArrayLiteral, textArrayLiteral } from '../src/array-literal.js'
import { clientConfig } from '../src/connection.js'
import { parsePostgresUrl } from '../src/url.js'
import { SERVER, sqlClient } from './helpers.js'

describe('array literals', () => {
  let client: pg.Client
  beforeAll(async () => {
    client = await sqlClient()
  })
  afterAll(async () => {
    await client.end()
  })

  it('texts and nulls come back as sent', async () => {
    const texts = ['{"$":"U","v":null}', 'a"b', 'back\\slash', '\\"', '{braces}', 'a,b', ' padded ', 'NULL', 'null', '', 'é ✓ 😀', '\n\t', null]
    const { rows } = await client.query<{ a: (string | null)[] }>('SELECT $1::text[] AS a', [textArrayLiteral(texts)])
    expect(rows[0]?.a).toEqual(texts)
  })

  it('integers and nulls come back as sent, as bigint[] and integer[]', async () => {
    const ints = [1, 0, -7, 2 ** 53 - 1, null]
    const { rows } = await client.query<{ a: string[]; b: (number | null)[] }>('SELECT $1::bigint[]::text[] AS a, $2::integer[] AS b', [intArrayLiteral(ints), intArrayLiteral([3, null, -1])])
    expect(rows[0]?.a).toEqual(ints.map((n) => (n === null ? null : String(n))))
    expect(rows[0]?.b).toEqual([3, null, -1])
    const empty = await client.query<{ a: string[] }>('SELECT $1::text[] AS a', [textArrayLiteral([])])
    expect(empty.rows[0]?.a).toEqual([])
  })

  it('bigint[] come back as numbers through the connection settings of the broker', async () => {
    const broker = new pg.Client(clientConfig(parsePostgresUrl(SERVER)))
    await broker.connect()
    try {
      const { rows } = await broker.query(`SELECT '{}'::bigint[] AS a, '{7}'::bigint[] AS b, '{1,-2,9007199254740991}'::bigint[] AS c, '{1,NULL}'::bigint[] AS d, ARRAY[]::bigint[] AS e`)
      expect(rows[0]).toEqual({ a: [], b: [7], c: [1, -2, 2 ** 53 - 1], d: [1, null], e: [] })
    } finally {
      await broker.end()
    }
  })
})
