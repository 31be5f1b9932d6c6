import { AqueError, DecodeError, Queue, ValidationError } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, runAll } from './helpers.js'
import { AppError, echo, square, parseJson, returnFunction, throwAppError, throwTypeError, throwUnregistered, throwWithCause } from './tasks.js'

/** What a local call of `fn` throws, to compare with what comes back from the worker. */
function thrownBy(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

/** Errors come back as their class; values go through the codec and back unchanged. */
export function errorsSuite({ t, broker }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('errors and codec', () => {
    it('a SyntaxError from JSON.parse comes back as a SyntaxError with its message and stack', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(parseJson, '{"unclosed": ')
      await runAll(broker())
      const err = await future.exception({ timeout: WAIT })
      const local = thrownBy(() => JSON.parse('{"unclosed": '))
      expect(err).toBeInstanceOf(SyntaxError)
      expect(err?.name).toBe('SyntaxError')
      expect(err?.message).toBe(local.message)
      expect(err?.stack).toContain('SyntaxError')
      await expect(future.result({ timeout: WAIT })).rejects.toBeInstanceOf(SyntaxError)
    })

    it('a TypeError comes back as a TypeError, its stack naming the function that threw', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(throwTypeError)
      await runAll(broker())
      const err = await future.exception({ timeout: WAIT })
      expect(err).toBeInstanceOf(TypeError)
      expect(err?.name).toBe('TypeError')
      expect(err?.message).toBe(thrownBy(() => throwTypeError.fn()).message)
      expect(err?.stack).toContain('throwTypeError')
    })

    it('an app-defined error class (registerErrorClass) comes back as itself, with its properties', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(throwAppError, 'quota')
      await runAll(broker())
      const err = await future.result({ timeout: WAIT }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(AppError)
      const app = err as AppError
      expect(app.name).toBe('AppError')
      expect(app.message).toBe('app failure: quota')
      expect(app.code).toBe('APP_FAILURE')
      expect(app.detail).toEqual({ reason: 'quota', limit: 2n ** 70n })
      expect(app.stack).toContain('throwAppError')
      // The stored task holds the same revived error.
      expect((await future.task()).error).toBeInstanceOf(AppError)
    })

    it('an error of a class unknown here keeps its name, message, stack and properties', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(throwUnregistered)
      await runAll(broker())
      const err = (await future.exception({ timeout: WAIT })) as Error & { hint?: string }
      expect(err).toBeInstanceOf(Error)
      expect(err.name).toBe('UnregisteredError')
      expect(err.message).toBe('not registered anywhere')
      expect(err.hint).toBe('kept')
      expect(err.stack).toContain('not registered anywhere')
    })

    it("an error's cause comes back as its own class", async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(throwWithCause)
      await runAll(broker())
      const err = (await future.exception({ timeout: WAIT })) as Error
      expect(err.message).toBe('outer')
      expect(err.cause).toBeInstanceOf(RangeError)
      expect((err.cause as Error).message).toBe('inner')
    })

    it('a result the codec cannot carry ends the task in error', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(returnFunction)
      await runAll(broker())
      const err = await future.exception({ timeout: WAIT })
      expect(err).toBeInstanceOf(ValidationError)
      expect(err).toBeInstanceOf(AqueError)
      expect((err as AqueError).code).toBe('AQUE_VALIDATION')
    })

    it('a stored value that cannot be decoded makes that field unreadable, not the whole task', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submitEx({ func: square, args: [3], name: 'odd result' })
      // Valid JSON with a tag this codec does not know, as a newer version might write.
      expect(await broker().finish(future.id, null, { status: 'success', result: '{"$":"Q","v":1}' })).toBe(true)
      const task = await future.task()
      expect(task.status).toBe('success')
      expect(task.name).toBe('odd result')
      expect(task.args).toEqual([3])
      expect(task.unreadable).toEqual(['result'])
      expect(task.result).toBeInstanceOf(DecodeError)
      await expect(future.result({ timeout: WAIT })).rejects.toBeInstanceOf(DecodeError)
    })

    it('Date, BigInt, Map, Set, Uint8Array, undefined, NaN, ±Infinity, -0 and a nested Error with cause round-trip through a task', async () => {
      const queue = new Queue({ broker: broker() })
      const value = {
        date: new Date('2024-02-03T04:05:06.789Z'),
        big: 12345678901234567890123n,
        negative: -5n,
        map: new Map<unknown, unknown>([
          ['a', 1],
          [2, { deep: new Set([1, 'x']) }],
        ]),
        set: new Set<unknown>([1, 'two', 3n]),
        bytes: new Uint8Array([0, 1, 127, 128, 254, 255]),
        missing: undefined,
        nan: Number.NaN,
        inf: Number.POSITIVE_INFINITY,
        ninf: Number.NEGATIVE_INFINITY,
        negZero: -0,
        list: [undefined, null, 1, 'é ✓'],
        dollar: { $: 'not a tag', v: 1 },
        error: new Error('outer', { cause: new TypeError('inner') }),
      }
      const future = await queue.submit(echo, value, 'second')
      await runAll(broker())
      const [back, second] = (await future.result({ timeout: WAIT })) as [typeof value, string]
      expect(second).toBe('second')
      expect(back.date).toBeInstanceOf(Date)
      expect(back.date.getTime()).toBe(value.date.getTime())
      expect(back.big).toBe(value.big)
      expect(back.negative).toBe(-5n)
      expect(back.map).toBeInstanceOf(Map)
      expect([...back.map.keys()]).toEqual(['a', 2])
      expect((back.map.get(2) as { deep: Set<unknown> }).deep).toEqual(new Set([1, 'x']))
      expect(back.set).toEqual(new Set([1, 'two', 3n]))
      expect(back.bytes).toBeInstanceOf(Uint8Array)
      expect([...back.bytes]).toEqual([0, 1, 127, 128, 254, 255])
      expect(Object.hasOwn(back, 'missing')).toBe(true)
      expect(back.missing).toBeUndefined()
      expect(back.nan).toBeNaN()
      expect(back.inf).toBe(Number.POSITIVE_INFINITY)
      expect(back.ninf).toBe(Number.NEGATIVE_INFINITY)
      expect(Object.is(back.negZero, -0)).toBe(true)
      expect(back.list).toHaveLength(4)
      expect(back.list[0]).toBeUndefined()
      expect(back.list.slice(1)).toEqual([null, 1, 'é ✓'])
      expect(back.dollar).toEqual({ $: 'not a tag', v: 1 })
      expect(back.error).toBeInstanceOf(Error)
      expect(back.error.message).toBe('outer')
      expect(back.error.stack).toBe(value.error.stack)
      expect(back.error.cause).toBeInstanceOf(TypeError)
      expect((back.error.cause as Error).message).toBe('inner')
      // The arguments were stored through the same codec.
      const task = await future.task()
      expect((task.args as [typeof value])[0].big).toBe(value.big)
    })
  })
}
