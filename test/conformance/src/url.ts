import { type BaseBroker, BrokerNotFoundError, Queue, ValidationError, getBroker } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, runAll } from './helpers.js'
import { add, square } from './tasks.js'

/** toUrl() and getBroker(): another process reaches the same data; passwords stay hidden. */
export function urlSuite({ t, broker }: SuiteContext): void {
  const { describe, it, expect } = t

  /** getBroker(url), closed afterwards unless it is the test's own broker (memory: one instance per name). */
  async function viaUrl<T>(url: string, body: (other: BaseBroker) => Promise<T>): Promise<T> {
    const other = await getBroker(url)
    try {
      return await body(other)
    } finally {
      if (other !== broker()) await other.close()
    }
  }

  describe('url', () => {
    it('getBroker(broker.toUrl()) reaches the same tasks, to read and to run', async () => {
      const queue = new Queue({ broker: broker() })
      const here = await queue.submit(add, 20, 22)
      await viaUrl(broker().toUrl(), async (other) => {
        expect(other.scheme).toBe(broker().scheme)
        const seen = await other.fetch([here.id], ['status', 'args'])
        expect(seen.get(here.id)).toMatchObject({ status: 'pending', args: [20, 22] })
        // Submitted there, run here; submitted here, run there.
        const there = await new Queue({ broker: other }).submit(square, 9)
        await runAll(other)
        expect(await (await queue.future(there.id)).result({ timeout: WAIT })).toBe(81)
        expect(await here.result({ timeout: WAIT })).toBe(42)
      })
    })

    it('a Queue given the URL submits to the same storage', async () => {
      const queue = new Queue({ broker: broker().toUrl() })
      try {
        const future = await queue.submit(square, 6)
        expect((await broker().fetch([future.id], ['status'])).get(future.id)?.status).toBe('pending')
        await runAll(broker())
        expect(await future.result({ timeout: WAIT })).toBe(36)
      } finally {
        await queue.close()
      }
    })

    it('toUrl({ hidePassword: true }) never contains the password', async () => {
      const full = broker().toUrl()
      const hidden = broker().toUrl({ hidePassword: true })
      const password = decodeURIComponent(new URL(full).password)
      if (password) {
        expect(hidden).not.toContain(password)
        expect(hidden).not.toContain(encodeURIComponent(password))
        expect(broker().displayUrl()).not.toContain(password)
      }
      expect(['', '***', '%2A%2A%2A']).toContain(new URL(hidden).password)
      expect(new URL(hidden).protocol).toBe(new URL(full).protocol)
    })

    it('an unknown scheme gives BrokerNotFoundError naming the package to install; a bad URL gives ValidationError', async () => {
      const missing = await getBroker('nosuchbroker://127.0.0.1/x').then(
        () => null,
        (e: unknown) => e,
      )
      expect(missing).toBeInstanceOf(BrokerNotFoundError)
      expect((missing as Error).message).toContain('@aque/broker-nosuchbroker')
      for (const bad of ['', '   ', 'no scheme here', '://nothing']) {
        await expect(getBroker(bad)).rejects.toBeInstanceOf(ValidationError)
      }
    })
  })
}
