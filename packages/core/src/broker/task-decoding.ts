import { decode } from '../codec/codec.js'
import { DecodeError } from '../errors/classes.js'
import { ENCODED_FIELDS, type Task, type TaskField, type TaskRecord, taskRecordSchema } from '../task/record.js'
import { compileSchemaCheck } from '../task/schema-check.js'

const shape = taskRecordSchema.shape
/** Allocation-free validity checks compiled from the same schema (see schema-check.ts); zod decides when they say no. */
const recordCheck = compileSchemaCheck(taskRecordSchema)
const fieldChecks = new Map(Object.entries(shape).map(([field, schema]) => [field, compileSchemaCheck(schema)]))
const encodedFields = new Set<string>(ENCODED_FIELDS)

/** A task whose fields could not all be read back: the names of those fields. */
export type TaskWithProblems = Partial<Task> & { id: number; unreadable?: string[] }

/**
 * Validates a record read back from a broker, field by field, and decodes its codec fields.
 * A field that fails holds a DecodeError and is listed in `unreadable`: the rest of the task
 * stays usable.
 */
export function decodeRecord(raw: Partial<TaskRecord>, trusted: boolean): TaskWithProblems {
  const out: Record<string, unknown> = {}
  const unreadable: string[] = []
  for (const key of Object.keys(raw) as TaskField[]) {
    let value: unknown = raw[key]
    if (!trusted) {
      const schema = shape[key]
      if (!schema) continue
      if (!fieldChecks.get(key)?.(value)) {
        const parsed = schema.safeParse(value)
        if (!parsed.success) {
          out[key] = new DecodeError(`field ${key} of task ${String(raw.id)} is invalid: ${parsed.error.issues[0]?.message ?? 'bad value'}`)
          unreadable.push(key)
          continue
        }
        value = parsed.data
      }
    }
    if (encodedFields.has(key) && typeof value === 'string') {
      try {
        value = decode(value)
      } catch (err) {
        value = err
        unreadable.push(key)
      }
    }
    out[key] = value
  }
  const task = out as TaskWithProblems
  if (unreadable.length > 0) task.unreadable = unreadable
  return task
}

/** Validates a whole record (for claimed tasks, which a worker must trust). Returns the problem or the record. */
export function parseRecord(raw: unknown): { record: TaskRecord } | { problem: string } {
  // A valid record is taken as it is (the check accepts only what zod would return unchanged).
  if (recordCheck?.(raw)) return { record: raw as TaskRecord }
  const parsed = taskRecordSchema.safeParse(raw)
  if (parsed.success) return { record: parsed.data }
  const issue = parsed.error.issues[0]
  return { problem: `${issue?.path.join('.') || 'record'}: ${issue?.message ?? 'invalid'}` }
}
