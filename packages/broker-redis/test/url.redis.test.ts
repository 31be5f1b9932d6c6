/**
 * Redis only: the URL forms of `redis://` and `rediss://` (host, port, db, password, TLS, key
 * prefix), how a password is hidden, and the error of an unreachable server. Other brokers have
 * other URLs; the conformance suite only checks that `toUrl()` reaches the same data.
 */
import { BrokerConnectionError, getBroker, ValidationError } from '@aque/core'
import { describe, expect, it } from 'vitest'
import { parseRedisUrl, RedisBroker } from '../src/index.js'

describe('redis URLs', () => {
  it('round-trips host, port, db, password, TLS and prefix through toUrl()', async () => {
    const url = 'rediss://:s%40cret@example.internal:6380/3?prefix=jobs.a'
    const broker = new RedisBroker(url)
    expect(broker.toUrl()).toBe(url)
    expect(parseRedisUrl(broker.toUrl())).toEqual({ host: 'example.internal', port: 6380, db: 3, username: null, password: 's@cret', tls: true, prefix: 'jobs.a' })
    const again = new RedisBroker(broker.toUrl())
    expect(again.location).toEqual(broker.location)
    expect(again.scheme).toBe('rediss')
    await broker.close()
    await again.close()
  })

  it('fills in the defaults: 127.0.0.1, 6379, db 0, prefix aque', async () => {
    const broker = await getBroker('redis://')
    expect(broker.toUrl()).toBe('redis://127.0.0.1:6379/0?prefix=aque')
    await broker.close()
  })

  it('hides the password when asked, and in displayUrl()', async () => {
    const broker = new RedisBroker('redis://user:hunter2@127.0.0.1:6379/1?prefix=p')
    expect(broker.toUrl({ hidePassword: true })).toBe('redis://user:***@127.0.0.1:6379/1?prefix=p')
    expect(broker.displayUrl()).not.toContain('hunter2')
    expect(broker.toUrl()).toContain('hunter2')
    await broker.close()
  })

  it('rejects a bad db, port, prefix or option with ValidationError, without the password', () => {
    for (const url of ['redis://:pw1@h:6379/x', 'redis://:pw1@h:6379/0?prefix=a%20b', 'redis://:pw1@h:6379/0?prefix=a:b', 'redis://:pw1@h:6379/0?bogus=1', 'redis://:pw1@h:6379/-1']) {
      let error: unknown
      try {
        new RedisBroker(url)
      } catch (err) {
        error = err
      }
      expect(error).toBeInstanceOf(ValidationError)
      expect((error as Error).message).not.toContain('pw1')
    }
  })

  it('an unreachable Redis fails the first call with BrokerConnectionError naming the URL without its password', async () => {
    const broker = await getBroker('redis://:topsecret@127.0.0.1:1/0?prefix=nowhere')
    const error = await broker.counts().then(
      () => null,
      (err: unknown) => err,
    )
    expect(error).toBeInstanceOf(BrokerConnectionError)
    expect((error as Error).message).toContain('redis://:***@127.0.0.1:1/0?prefix=nowhere')
    expect((error as Error).message).not.toContain('topsecret')
    // The next call tries again and fails the same way (no silent endless retry in between).
    await expect(broker.submit([])).resolves.toEqual([])
    await expect(broker.fetch([1])).rejects.toBeInstanceOf(BrokerConnectionError)
    await broker.close()
  })
})
