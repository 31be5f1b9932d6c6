import { describe, expect, it } from 'vitest'
import { DependencyFailedError, ValidationError, decode, encode, registerErrorClass } from '../src/index.js'

const roundTrip = <T>(value: T): T => decode(encode(value)) as T

describe('codec', () => {
  it('round-trips the values JSON cannot carry', () => {
    const date = new Date('2026-01-02T03:04:05.678Z')
    const value = {
      date,
      big: 12345678901234567890n,
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, new Set([1, 2])],
      ]),
      set: new Set(['x']),
      bytes: new Uint8Array([0, 255, 10, 13]),
      undef: undefined,
      nums: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1.5],
      nested: [{ $: 'looks like a tag', v: 1 }],
      text: 'nul \u0000 byte',
    }
    const back = roundTrip(value)
    expect(back.date).toBeInstanceOf(Date)
    expect(back.date.getTime()).toBe(date.getTime())
    expect(back.big).toBe(value.big)
    expect(back.map).toEqual(value.map)
    expect(back.set).toEqual(value.set)
    expect(back.bytes).toEqual(value.bytes)
    expect('undef' in back && back.undef === undefined).toBe(true)
    expect(Number.isNaN(back.nums[0])).toBe(true)
    expect(back.nums.slice(1, 3)).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
    expect(Object.is(back.nums[3], -0)).toBe(true)
    expect(back.nested).toEqual(value.nested)
    expect(back.text).toBe(value.text)
  })

  it('round-trips errors by class with name, message, stack, code, cause and properties', () => {
    class AppError extends Error {
      override name = 'AppError'
      constructor(
        message: string,
        readonly detail: number,
      ) {
        super(message)
      }
    }
    registerErrorClass(AppError)
    const err = new AppError('boom', 42)
    ;(err as { code?: string }).code = 'E_APP'
    err.cause = new TypeError('root cause')
    const back = roundTrip(err)
    expect(back).toBeInstanceOf(AppError)
    expect(back.message).toBe('boom')
    expect(back.stack).toBe(err.stack)
    expect(back.detail).toBe(42)
    expect((back as { code?: string }).code).toBe('E_APP')
    expect(back.cause).toBeInstanceOf(TypeError)
    const dep = roundTrip(DependencyFailedError.of(7, 'killed'))
    expect(dep).toBeInstanceOf(DependencyFailedError)
    expect(dep.taskId).toBe(7)
    expect(dep.code).toBe('AQUE_DEPENDENCY_FAILED')
  })

  it('keeps an unknown error class as its name', () => {
    const text = encode(Object.assign(new Error('x'), { name: 'NeverRegisteredError' }))
    const back = decode(text) as Error
    expect(back.name).toBe('NeverRegisteredError')
    expect(back).toBeInstanceOf(Error)
  })

  it('refuses what cannot be encoded, naming where', () => {
    expect(() => encode({ a: [1, () => 1] })).toThrow(/a\[1\]: a function/)
    class Point {
      x = 1
    }
    expect(() => encode({ p: new Point() })).toThrow(/p: an instance of Point/)
    const circular: Record<string, unknown> = {}
    circular.self = circular
    expect(() => encode(circular)).toThrow(ValidationError)
    expect(() => encode(Symbol('s'))).toThrow(ValidationError)
  })

  it('never evaluates: an unknown tag is a decode error', () => {
    expect(() => decode('{"$":"Function","v":"return 1"}')).toThrow(/unknown codec tag/)
    expect(() => decode('not json')).toThrow(/cannot decode/)
  })
})
