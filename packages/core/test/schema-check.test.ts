// The checks compiled from zod schemas (schema-check.ts) must agree with zod: a value they accept
// is one zod accepts and returns unchanged, and for the constructs they compile they refuse what
// zod refuses. Compared value by value, for every field of the task record and a few schemas.
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { parseRecord } from '../src/broker/task-decoding.js'
import { taskRecordSchema } from '../src/task/record.js'
import { compileSchemaCheck } from '../src/task/schema-check.js'

const progress = { done: 1, total: null, message: null, time: 5 }
/** Values of every kind, valid and not for some field or other. */
const CANDIDATES: unknown[] = [
  null,
  undefined,
  '',
  'x',
  'pending',
  'process',
  'bogus',
  0,
  -0,
  1,
  -1,
  1.5,
  2 ** 53,
  2 ** 53 - 1,
  -(2 ** 53),
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  true,
  false,
  [],
  [1],
  [0],
  [-1],
  [1.5],
  ['a'],
  [1, 'a'],
  {},
  { a: '1' },
  { a: 1 },
  { a: '1', b: null },
  progress,
  { ...progress, extra: 1 },
  { done: '1', total: null, message: null, time: 5 },
  { done: 1, total: 2, message: 'm', time: 5 },
  { done: 1, message: null, time: 5 },
  { files: ['a'] },
  { files: [''] },
  { files: [] },
  { files: ['a'], other: 1 },
  { cpuSeconds: 1, maxRss: 2 },
  { cpuSeconds: 1, maxRss: Number.NaN },
  Object.create({ a: '1' }),
  new Map(),
  new Date(0),
]

/** Asserts that `check` accepts exactly what `schema` accepts unchanged, on every candidate. */
function expectAgreement(schema: z.ZodType, label: string): void {
  const check = compileSchemaCheck(schema)
  expect(check, `${label} compiles`).not.toBeNull()
  for (const value of CANDIDATES) {
    const parsed = schema.safeParse(value)
    const unchanged = parsed.success && JSON.stringify(parsed.data) === JSON.stringify(value)
    const accepted = (check as (v: unknown) => boolean)(value)
    if (accepted) expect(parsed.success, `${label} accepts ${String(JSON.stringify(value))}, which zod refuses`).toBe(true)
    if (accepted) expect(JSON.stringify(parsed.success && parsed.data), `${label}: zod changes ${JSON.stringify(value)}`).toBe(JSON.stringify(value))
    // (An object that is not plain, as JSON makes them, is left to zod: its inherited keys.)
    const plain = typeof value !== 'object' || value === null || Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype
    if (unchanged && plain) expect(accepted, `${label} refuses ${String(JSON.stringify(value))}, which zod accepts as it is`).toBe(true)
  }
}

describe('checks compiled from zod schemas', () => {
  it('agree with zod on every field of the task record', () => {
    for (const [field, schema] of Object.entries(taskRecordSchema.shape)) expectAgreement(schema, field)
  })

  it('agree with zod on the constructs they compile', () => {
    expectAgreement(z.number().int().min(0).max(10), 'int 0..10')
    expectAgreement(z.number().gt(0).lt(2), 'number in (0, 2)')
    expectAgreement(z.string().min(1), 'non-empty string')
    expectAgreement(z.boolean(), 'boolean')
    expectAgreement(z.array(z.number()).optional(), 'optional array')
    expectAgreement(z.object({ a: z.string().optional() }), 'object with an optional key')
    expectAgreement(z.strictObject({ files: z.array(z.string()).optional() }), 'strict object')
    expectAgreement(z.record(z.string(), z.string()), 'record')
  })

  it('are not made for constructs they do not know (zod then parses every value)', () => {
    expect(compileSchemaCheck(z.union([z.string(), z.number()]))).toBeNull()
    expect(compileSchemaCheck(z.string().email())).toBeNull()
    expect(compileSchemaCheck(z.string().transform((s) => s.length))).toBeNull()
    expect(compileSchemaCheck(z.number().multipleOf(2))).toBeNull()
    expect(compileSchemaCheck(z.object({ a: z.string() }).catchall(z.number()))).toBeNull()
  })

  it('take a valid record as it is, and leave the others to zod', () => {
    const record = Object.fromEntries(Object.keys(taskRecordSchema.shape).map((k) => [k, null])) as Record<string, unknown>
    Object.assign(record, { args: '[]', priority: 0, duration: 0, retries: 0, retryDelay: 1000, id: 3, status: 'running', dependencies: [], attempt: 1, retryCount: 0, createdAt: 1 })
    const valid = parseRecord(record)
    expect('record' in valid && valid.record).toBe(record)
    // An unknown key: zod strips it (a copy), as before.
    const extra = parseRecord({ ...record, unknown: 1 })
    expect('record' in extra && extra.record).toEqual(record)
    expect(parseRecord({ ...record, attempt: -1 })).toEqual({ problem: expect.stringContaining('attempt') })
    expect(parseRecord({ ...record, status: 'bogus' })).toEqual({ problem: expect.stringContaining('status') })
  })
})
