import { encode } from '../codec/codec.js'
import { DependencyFailedError } from '../errors/classes.js'

/**
 * Codec text of the error a dependent ends with when dependency `id` ended in `status`.
 * Brokers store it on every failed dependent; it carries no stack (it was not thrown anywhere).
 */
export function dependencyFailedText(id: number, status: string): string {
  const err = DependencyFailedError.of(id, status)
  err.stack = `${err.name}: ${err.message}`
  return encode(err)
}
