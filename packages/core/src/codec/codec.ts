import { DecodeError, ValidationError } from '../errors/classes.js'
import { reviveError } from '../errors/registry.js'

/**
 * The one codec for arguments, results, errors and `extra`: JSON, with tagged objects for what
 * JSON cannot carry. A tagged value is `{"$": tag, "v": ...}`; a plain object that has a `$`
 * key of its own is wrapped as tag `O` so that it is never mistaken for a tag. Decoding never
 * evaluates anything: tags map to constructors from a fixed list.
 *
 * Tags: U undefined, N number (NaN, Infinity, -Infinity, -0), B BigInt, D Date, M Map,
 * S Set, Y Uint8Array/Buffer (base64), E Error, O escaped object, R RegExp.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const TAG = '$'

function tagged(tag: string, v: Json): Json {
  return { [TAG]: tag, v }
}

function describePath(path: string): string {
  return path === '' ? 'value' : path
}

function encodeNumber(n: number): Json {
  if (Number.isFinite(n)) return Object.is(n, -0) ? tagged('N', '-0') : n
  return tagged('N', String(n))
}

function encodeError(err: Error, path: string, seen: Set<object>): Json {
  const props: Record<string, Json> = {
    message: err.message,
    stack: err.stack ?? null,
  }
  const code = (err as { code?: unknown }).code
  if (code !== undefined) props.code = toJson(code, `${path}.code`, seen)
  if (err.cause !== undefined) props.cause = toJson(err.cause, `${path}.cause`, seen)
  if (err instanceof AggregateError) props.errors = toJson(err.errors, `${path}.errors`, seen)
  for (const key of Object.keys(err)) {
    if (key in props) continue
    const value = (err as unknown as Record<string, unknown>)[key]
    if (typeof value === 'function' || typeof value === 'symbol') continue
    props[key] = toJson(value, `${path}.${key}`, seen)
  }
  return tagged('E', { name: err.name, props })
}

function toJson(value: unknown, path: string, seen: Set<object>): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      return encodeNumber(value)
    case 'undefined':
      return tagged('U', null)
    case 'bigint':
      return tagged('B', value.toString())
    case 'function':
    case 'symbol':
      throw new ValidationError(`${describePath(path)}: a ${typeof value} cannot be encoded`)
  }
  if (value === null) return null
  const obj = value as object
  if (seen.has(obj)) throw new ValidationError(`${describePath(path)}: circular reference cannot be encoded`)
  seen.add(obj)
  try {
    if (Array.isArray(obj)) return obj.map((item, i) => toJson(item, `${path}[${i}]`, seen))
    if (obj instanceof Date) return tagged('D', Number.isNaN(obj.getTime()) ? null : obj.toISOString())
    if (obj instanceof Uint8Array) return tagged('Y', Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64'))
    if (obj instanceof Map) {
      return tagged('M', [...obj].map(([k, v], i) => [toJson(k, `${path}<key ${i}>`, seen), toJson(v, `${path}<value ${i}>`, seen)]))
    }
    if (obj instanceof Set) return tagged('S', [...obj].map((v, i) => toJson(v, `${path}<item ${i}>`, seen)))
    if (obj instanceof Error) return encodeError(obj, path, seen)
    if (obj instanceof RegExp) return tagged('R', [obj.source, obj.flags])
    const proto = Object.getPrototypeOf(obj)
    if (proto !== Object.prototype && proto !== null) {
      const toJSON = (obj as { toJSON?: unknown }).toJSON
      if (typeof toJSON === 'function') return toJson(toJSON.call(obj), path, seen)
      const cls = (proto as { constructor?: { name?: string } }).constructor?.name ?? 'unknown'
      throw new ValidationError(`${describePath(path)}: an instance of ${cls} cannot be encoded; pass a plain object`)
    }
    const out: Record<string, Json> = {}
    for (const key of Object.keys(obj)) {
      out[key] = toJson((obj as Record<string, unknown>)[key], path === '' ? key : `${path}.${key}`, seen)
    }
    return Object.hasOwn(out, TAG) ? tagged('O', out) : out
  } finally {
    seen.delete(obj)
  }
}

function fromJson(value: Json): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(fromJson)
  const tag = value[TAG]
  if (tag === undefined) {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value)) out[key] = fromJson(value[key] as Json)
    return out
  }
  const v = value.v as Json
  switch (tag) {
    case 'U':
      return undefined
    case 'N':
      return v === '-0' ? -0 : Number(v)
    case 'B':
      return BigInt(v as string)
    case 'D':
      return new Date(v === null ? Number.NaN : (v as string))
    case 'Y': {
      const buf = Buffer.from(v as string, 'base64')
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    }
    case 'M':
      return new Map((v as Json[][]).map(([k, val]) => [fromJson(k as Json), fromJson(val as Json)]))
    case 'S':
      return new Set((v as Json[]).map(fromJson))
    case 'R':
      return new RegExp((v as string[])[0] as string, (v as string[])[1])
    case 'E': {
      const { name, props } = v as { name: string; props: Record<string, Json> }
      const decoded: Record<string, unknown> = {}
      for (const [key, val] of Object.entries(props)) decoded[key] = fromJson(val)
      if (decoded.stack === null) delete decoded.stack
      return reviveError(String(name), decoded)
    }
    case 'O': {
      const out: Record<string, unknown> = {}
      for (const [key, val] of Object.entries(v as Record<string, Json>)) out[key] = fromJson(val)
      return out
    }
    default:
      throw new DecodeError(`unknown codec tag ${JSON.stringify(tag)}`)
  }
}

/** Encodes a value to the codec's JSON text. Throws ValidationError naming the path of what cannot be encoded. */
export function encode(value: unknown, path = ''): string {
  // The commonest results of no-op and side-effect tasks, without a walk.
  if (value === undefined) return ENCODED_UNDEFINED
  if (value === null) return 'null'
  return JSON.stringify(toJson(value, path, new Set()))
}
const ENCODED_UNDEFINED = JSON.stringify(tagged('U', null))

/** Decodes the codec's JSON text. Throws DecodeError when the text is not valid codec output. */
export function decode(text: string): unknown {
  try {
    return fromJson(JSON.parse(text) as Json)
  } catch (err) {
    if (err instanceof DecodeError) throw err
    throw new DecodeError(`cannot decode stored value: ${(err as Error).message}`, { cause: err })
  }
}

/** Encoded form of `[]`, the commonest argument list, kept to skip work on the hot path. */
export const EMPTY_ARGS = '[]'
