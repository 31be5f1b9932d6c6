/**
 * PostgreSQL only: the URL of this broker (user, password, host, port, database, schema, ssl
 * mode, application name) and how connection problems are reported. Other brokers have other
 * URLs and servers, so these cannot live in the shared conformance suite.
 */
import { BrokerConnectionError, ValidationError, getBroker } from '@aque/core'
import { describe, expect, it } from 'vitest'
import { PostgresBroker, parsePostgresUrl } from '../src/index.js'
import { SERVER, randomSchema } from './helpers.js'

describe('postgres URL', () => {
  it('toUrl() round-trips user, password, host, port, database, schema, ssl mode and application name', async () => {
    const url = 'postgresql://us%40er:p%40ss%3Aword@127.0.0.1:5433/my%20db?schema=queue_1&sslmode=require&application_name=farm'
    const broker = new PostgresBroker(url)
    expect(broker.toUrl()).toBe(url)
    expect(parsePostgresUrl(broker.toUrl())).toEqual(parsePostgresUrl(url))
    expect(parsePostgresUrl(url)).toMatchObject({
      user: 'us@er',
      password: 'p@ss:word',
      host: '127.0.0.1',
      port: 5433,
      database: 'my db',
      schema: 'queue_1',
      sslmode: 'require',
      applicationName: 'farm',
    })
    const again = await getBroker(broker.toUrl())
    expect(again).toBeInstanceOf(PostgresBroker)
    expect(again.toUrl()).toBe(url)
    await broker.close()
    await again.close()
  })

  it('the default schema is aque, and postgres:// and postgresql:// are both registered', async () => {
    const a = await getBroker('postgres://postgres@127.0.0.1:5432/test')
    const b = await getBroker('postgresql://postgres@127.0.0.1:5432/test?schema=other')
    expect(a.toUrl()).toBe('postgres://postgres@127.0.0.1:5432/test?schema=aque')
    expect((b as PostgresBroker).options.schema).toBe('other')
    await a.close()
    await b.close()
  })

  it('hides the password in toUrl({ hidePassword }), displayUrl() and errors', async () => {
    const broker = new PostgresBroker('postgres://nobody_here:s3cret-pw@127.0.0.1:5432/test?schema=x')
    expect(broker.toUrl({ hidePassword: true })).toBe('postgres://nobody_here:***@127.0.0.1:5432/test?schema=x')
    expect(broker.displayUrl()).not.toContain('s3cret-pw')
    const err = await broker.init().then(
      () => null,
      (e: unknown) => e as Error,
    )
    expect(err).toBeInstanceOf(BrokerConnectionError)
    expect(String(err?.message)).not.toContain('s3cret-pw')
    expect(String(err?.stack)).not.toContain('s3cret-pw')
    await broker.close()
  })

  it('a malformed URL fails at once with ValidationError naming the part, password hidden', () => {
    expect(() => new PostgresBroker('postgres://u:topsecret@127.0.0.1:99999/test')).toThrow(ValidationError)
    expect(() => new PostgresBroker('postgres://u:topsecret@127.0.0.1:0/test')).toThrow(/port/)
    expect(() => new PostgresBroker('postgres://u:topsecret@127.0.0.1/test?schema=bad-name')).toThrow(/schema/)
    expect(() => new PostgresBroker('postgres://u:topsecret@127.0.0.1/test?schema=public')).toThrow(/reserved/)
    expect(() => new PostgresBroker('postgres://u:topsecret@127.0.0.1/test?sslmode=sometimes')).toThrow(/sslmode/)
    expect(() => new PostgresBroker('postgres://u:topsecret@127.0.0.1/test?prefix=x')).toThrow(/unknown parameter "prefix"/)
    try {
      new PostgresBroker('postgres://u:topsecret@127.0.0.1:99999/test')
    } catch (err) {
      expect((err as Error).message).not.toContain('topsecret')
    }
  })

  it('a missing database fails init() at once with BrokerConnectionError saying so', async () => {
    const broker = new PostgresBroker(`postgres://postgres:pw@127.0.0.1:5432/no_such_db_${randomSchema()}?schema=x`)
    const err = await broker.init().catch((e: unknown) => e as Error)
    expect(err).toBeInstanceOf(BrokerConnectionError)
    expect((err as Error).message).toMatch(/does not exist/)
    expect((err as Error).message).not.toContain(':pw@')
    await broker.close()
  })

  it('a refused login fails init() at once with BrokerConnectionError', async () => {
    const broker = new PostgresBroker('postgres://no_such_role_aque:pw@127.0.0.1:5432/test?schema=x')
    const err = await broker.init().catch((e: unknown) => e as Error)
    expect(err).toBeInstanceOf(BrokerConnectionError)
    expect((err as Error).message).toMatch(/refused the login/)
    await broker.close()
  })

  it('a server that is not there fails init() at once with BrokerConnectionError', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const broker = new PostgresBroker('postgres://postgres@127.0.0.1:1/test?schema=x')
    const err = await broker.init().catch((e: unknown) => e as Error)
    expect(err).toBeInstanceOf(BrokerConnectionError)
    expect((err as Error).message).toMatch(/cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/test/)
    await broker.close()
  })

  it('the broker sets application_name on its connections', async () => {
    const name = `aque-test-${randomSchema()}`.slice(0, 60)
    const broker = new PostgresBroker(`${SERVER}?schema=${randomSchema()}&application_name=${name}`)
    await broker.init()
    await broker.ready()
    const pg = await import('pg')
    const client = new pg.default.Client({ connectionString: SERVER })
    await client.connect()
    const { rows } = await client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [name])
    // The listening connection at least, and the pool connection that ran init().
    expect(rows[0].n).toBeGreaterThanOrEqual(2)
    await client.end()
    await broker.destroy()
    await broker.close()
  })
})
