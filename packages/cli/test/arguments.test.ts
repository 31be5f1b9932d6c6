import { describe, expect, it } from 'vitest'
import { parseSignal } from '../src/commands/kill.js'
import { parseProgress } from '../src/commands/report.js'
import { UsageError, describeError } from '../src/lib/errors.js'
import { parseIds } from '../src/lib/ids.js'
import { ValidationError, TaskNotFoundError } from '@aque/core'

describe('command-line arguments', () => {
  it('parses task ids, one by one or comma-separated, and refuses anything else', () => {
    expect(parseIds(['3', '4,5', ' 6 '])).toEqual([3, 4, 5, 6])
    for (const bad of ['0', '-1', '1.5', 'abc', '1e3', '99999999999999999999']) expect(() => parseIds([bad]), bad).toThrow(UsageError)
  })

  it('parses signals by name, short name or number', () => {
    expect(parseSignal('INT')).toBe('SIGINT')
    expect(parseSignal('sigterm')).toBe('SIGTERM')
    expect(parseSignal('9')).toBe('SIGKILL')
    expect(() => parseSignal('NOPE')).toThrow(UsageError)
  })

  it('parses progress as N, N/M or N%', () => {
    expect(parseProgress('3/10')).toEqual({ done: 3, total: 10 })
    expect(parseProgress('7')).toEqual({ done: 7, total: null })
    expect(parseProgress('40%')).toEqual({ done: 40, total: 100 })
    expect(() => parseProgress('3/0')).toThrow(UsageError)
    expect(() => parseProgress('lots')).toThrow(UsageError)
  })

  it('maps errors to one line and an exit code: usage 2, failure 1', () => {
    expect(describeError(new ValidationError('memory: "lots" is not a size\nmore'))).toEqual({ message: 'memory: "lots" is not a size', exitCode: 2 })
    expect(describeError(new TaskNotFoundError('task 9 does not exist'))).toEqual({ message: 'task 9 does not exist', exitCode: 1 })
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    expect(describeError(refused)).toMatchObject({ exitCode: 1, message: expect.stringMatching(/cannot reach the broker/) })
  })
})
