import { AqueError } from './aque-error.js'
import * as aque from './classes.js'

type ErrorClass = abstract new (...args: never[]) => Error

/**
 * Error classes known by name, so that an error thrown by a task in another process is
 * re-thrown here as the same class. Built-in errors and aque's own are known; apps add
 * theirs with `registerErrorClass`.
 */
const classes = new Map<string, ErrorClass>()

for (const cls of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]) {
  classes.set(cls.name, cls)
}
classes.set('AqueError', AqueError)
for (const cls of Object.values(aque)) classes.set(cls.name, cls)

/** Makes errors of this class come back from `future.result()` as instances of it. */
export function registerErrorClass(cls: ErrorClass, name: string = cls.name): void {
  classes.set(name, cls)
}

export function errorClassFor(name: string): ErrorClass | undefined {
  return classes.get(name)
}

/**
 * Rebuilds an error of the named class without calling its constructor (constructors may
 * require arguments or have side effects), then restores the given properties.
 */
export function reviveError(name: string, props: Record<string, unknown>): Error {
  const cls = classes.get(name)
  const proto: object = cls ? cls.prototype : aque.RemoteError.prototype
  const err = Object.create(proto) as Error
  for (const [key, value] of Object.entries(props)) {
    Object.defineProperty(err, key, { value, writable: true, configurable: true, enumerable: key !== 'message' && key !== 'stack' })
  }
  if (!cls || err.name !== name) {
    Object.defineProperty(err, 'name', { value: name, writable: true, configurable: true, enumerable: false })
  }
  return err
}
