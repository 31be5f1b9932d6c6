import { describe, expect, it } from 'vitest'
import { UsageError } from '../src/lib/errors.js'
import { compileFilter, parseFilter } from '../src/lib/filter.js'

const FIELDS = new Set(['id', 'status', 'priority', 'name', 'progress', 'dependencies'])
const task = { id: 7, status: 'error', priority: 1500, name: 'render "a"', progress: { done: 3, total: 10 }, dependencies: [1, 2] }
const holds = (expr: string, subject: Record<string, unknown> = task) => compileFilter(expr, FIELDS)(subject)

describe('filter expressions', () => {
  it('compares fields with strings and numbers', () => {
    expect(holds('status == "error" and priority > 1000')).toBe(true)
    expect(holds("status == 'error' and priority > 2000")).toBe(false)
    expect(holds('priority >= 1500 && priority <= 1500')).toBe(true)
    expect(holds('priority < 1500 || id != 7')).toBe(false)
    expect(holds('name == "render \\"a\\""')).toBe(true)
  })

  it('has not, parentheses, precedence (and before or), in lists and dotted fields', () => {
    expect(holds('not status == "success"')).toBe(true)
    expect(holds('!(status == "error")')).toBe(false)
    expect(holds('id == 1 or id == 7 and priority > 0')).toBe(true)
    expect(holds('(id == 1 or id == 7) and priority < 0')).toBe(false)
    expect(holds('status in ["error", "killed"]')).toBe(true)
    expect(holds('status not in ["error", "killed"]')).toBe(false)
    expect(holds('progress.done == 3 and progress.total > 5')).toBe(true)
    expect(holds('progress.nothing == null')).toBe(true)
    expect(holds('dependencies')).toBe(true)
    expect(holds('priority > -1 and -1 < 0')).toBe(true)
  })

  it('never compares values of different types as ordered', () => {
    expect(holds('name > 3')).toBe(false)
    expect(holds('priority == "1500"')).toBe(false)
  })

  it('rejects malformed expressions with a usage error naming the place', () => {
    for (const bad of ['', 'status = "x"', 'status ==', '(id == 1', 'id == 1)', 'status == "x', 'colour == 1', 'id in 3', 'id == 1 id', '$x', 'and']) {
      expect(() => parseFilter(bad, FIELDS), bad).toThrow(UsageError)
    }
    expect(() => parseFilter('status = "x"', FIELDS)).toThrow(/character 8 .*use "=="/)
  })

  it('cannot run code: a constructor-looking field is only a (missing) property', () => {
    expect(() => parseFilter('constructor.constructor == 1', FIELDS)).toThrow(/unknown field "constructor"/)
    expect(holds('name.constructor == null')).toBe(true)
    expect(holds('progress.__proto__ == null')).toBe(true)
  })
})
