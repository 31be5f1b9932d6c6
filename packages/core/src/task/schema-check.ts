import type { z } from 'zod'

/**
 * Whether a value is valid for a zod schema, answered without building a parse result. zod's
 * own parse makes a result object and an issue list for every field it visits (≈ 6 KB for one
 * task record, a fifth of a PostgreSQL drain's time in the garbage collector and the parse);
 * the records brokers read back are nearly always valid, and for them this check says so
 * without allocating. It is compiled from the schema itself, so the schema stays the one
 * definition: the check accepts a value only where the schema would accept it and return it
 * unchanged (no unknown keys to strip). A value it refuses goes to the schema's own parse, which
 * decides and gives the message.
 */
export type SchemaCheck = (value: unknown) => boolean

/** The parts of zod's schema definitions (`schema._zod.def`) that a check is compiled from. */
interface Def {
  type: string
  checks?: { _zod: { def: CheckDef } }[]
  innerType?: z.ZodType
  element?: z.ZodType
  entries?: Record<string, unknown>
  shape?: Record<string, z.ZodType>
  catchall?: z.ZodType
  keyType?: z.ZodType
  valueType?: z.ZodType
}
interface CheckDef {
  check: string
  format?: string
  value?: unknown
  inclusive?: boolean
  minimum?: unknown
  when?: unknown
}

/** A schema this module cannot compile: callers then parse with zod every time. */
class Unsupported extends Error {}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def

/** One check of a number or string, or Unsupported (an unknown kind, or one with a condition). */
function compileRule(rule: CheckDef, kind: 'number' | 'string'): (v: never) => boolean {
  // A length check runs only `when` the value has a length, which a string always has; any
  // other condition is unknown here.
  if (rule.when !== undefined && !(kind === 'string' && rule.check === 'min_length')) throw new Unsupported()
  if (kind === 'number') {
    if (rule.check === 'number_format' && rule.format === 'safeint') return (v: number) => Number.isSafeInteger(v)
    if (typeof rule.value === 'number' && rule.check === 'greater_than') {
      const bound = rule.value
      return rule.inclusive ? (v: number) => v >= bound : (v: number) => v > bound
    }
    if (typeof rule.value === 'number' && rule.check === 'less_than') {
      const bound = rule.value
      return rule.inclusive ? (v: number) => v <= bound : (v: number) => v < bound
    }
  } else if (rule.check === 'min_length' && typeof rule.minimum === 'number') {
    const minimum = rule.minimum
    return (v: string) => v.length >= minimum
  }
  throw new Unsupported()
}

function compileRules<T>(def: Def, kind: 'number' | 'string'): ((v: T) => boolean)[] {
  return (def.checks ?? []).map((c) => compileRule(c._zod.def, kind) as (v: T) => boolean)
}

/** Whether every rule holds (a loop, not `every` with a closure: nothing allocated per call). */
function allHold<T>(rules: ((v: T) => boolean)[], v: T): boolean {
  for (let i = 0; i < rules.length; i++) if (!(rules[i] as (v: T) => boolean)(v)) return false
  return true
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
/** A plain object (what JSON makes): zod's object would read a class instance's inherited keys into a new plain one. */
const isPlain = (v: unknown): v is Record<string, unknown> => isObject(v) && Object.getPrototypeOf(v) === Object.prototype

function compile(schema: z.ZodType): SchemaCheck {
  const def = defOf(schema)
  switch (def.type) {
    case 'string': {
      const rules = compileRules<string>(def, 'string')
      return (v) => typeof v === 'string' && allHold(rules, v)
    }
    case 'number': {
      const rules = compileRules<number>(def, 'number')
      if (rules.length === 0) return (v) => typeof v === 'number' && Number.isFinite(v)
      return (v) => typeof v === 'number' && Number.isFinite(v) && allHold(rules, v)
    }
    case 'boolean':
      return (v) => typeof v === 'boolean'
    case 'enum': {
      const values = new Set(Object.values(def.entries ?? {}).filter((e) => typeof e === 'string'))
      return (v) => typeof v === 'string' && values.has(v)
    }
    case 'nullable': {
      const inner = compile(def.innerType as z.ZodType)
      return (v) => v === null || inner(v)
    }
    case 'optional': {
      const inner = compile(def.innerType as z.ZodType)
      return (v) => v === undefined || inner(v)
    }
    case 'array': {
      if (def.checks?.length) throw new Unsupported()
      const element = compile(def.element as z.ZodType)
      return (v) => {
        if (!Array.isArray(v)) return false
        for (let i = 0; i < v.length; i++) if (!element(v[i])) return false
        return true
      }
    }
    case 'record': {
      // String keys to checked values, in a plain object (what zod's record takes).
      if (defOf(def.keyType as z.ZodType).type !== 'string' || def.keyType?._zod.def.checks?.length) throw new Unsupported()
      const value = compile(def.valueType as z.ZodType)
      return (v) => {
        if (!isPlain(v) || Object.getOwnPropertySymbols(v).length > 0) return false
        for (const key in v) if (!Object.hasOwn(v, key) || !value(v[key])) return false
        return true
      }
    }
    case 'object':
      return compileObject(def)
    default:
      throw new Unsupported()
  }
}

/**
 * An object: every key of the shape checked, and no other key (a key zod would strip or, for
 * a strict object, refuse), counted without allocating.
 */
function compileObject(def: Def): SchemaCheck {
  const catchall = def.catchall ? defOf(def.catchall).type : null
  if (catchall !== null && catchall !== 'never') throw new Unsupported()
  const fields = Object.entries(def.shape ?? {}).map(([key, schema]) => ({ key, check: compile(schema) }))
  return (v) => {
    if (!isPlain(v)) return false
    let present = 0
    for (let i = 0; i < fields.length; i++) {
      const { key, check } = fields[i] as (typeof fields)[number]
      if (!check(v[key])) return false
      if (key in v) present++
    }
    let keys = 0
    for (const _ in v) keys++
    return keys === present
  }
}

/** The check of `schema`, or null when it holds a construct this module does not compile. */
export function compileSchemaCheck(schema: z.ZodType): SchemaCheck | null {
  try {
    return compile(schema)
  } catch (err) {
    if (err instanceof Unsupported) return null
    throw err
  }
}
