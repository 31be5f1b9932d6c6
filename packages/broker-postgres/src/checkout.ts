import type pg from 'pg'

/**
 * A connection taken from the pool for several statements. While it is out of the pool nobody
 * else listens to its 'error' event, and pg throws an unhandled one when the server ends the
 * connection between two statements: this listens for the time it is held, and the next
 * statement on it fails (and is retried by the caller on a fresh connection).
 */
export async function checkout(pool: pg.Pool): Promise<{ client: pg.PoolClient; release(broken: boolean): void }> {
  const client = await pool.connect()
  let lost = false
  const onError = () => {
    lost = true
  }
  client.on('error', onError)
  return {
    client,
    release(broken) {
      client.removeListener('error', onError)
      client.release(broken || lost)
    },
  }
}
