/**
 * Base class of every error aque raises. `code` is stable across versions and brokers:
 * match on it (or on the class), never on the message.
 */
export class AqueError extends Error {
  /** Stable machine-readable code, e.g. `AQUE_DEPENDENCY_FAILED`. */
  readonly code: string = 'AQUE_ERROR'

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}
