import { AqueError } from '@aque/core'

/** Exit code of a usage error: bad flag, bad argument, malformed filter, no broker set. */
export const EXIT_USAGE = 2
/** Exit code of a failure: unknown task, unreachable broker, a task that failed. */
export const EXIT_FAILURE = 1

/** An error the CLI reports as one line, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message)
    this.name = 'CliError'
  }
}

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE)
    this.name = 'UsageError'
  }
}

/** AqueError codes that mean the input was wrong (usage), the rest are failures. */
const USAGE_CODES = new Set(['AQUE_VALIDATION', 'AQUE_BROKER_NOT_FOUND', 'AQUE_FUNCTION_RESOLUTION', 'AQUE_DEPENDENCY_RESOLUTION'])

/** Node's error codes of a server that cannot be reached. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'ENETUNREACH'])

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '') ?? text
}

/** Maps anything thrown to one line and an exit code; never a stack trace. */
export function describeError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode }
  if (err instanceof AqueError) {
    return { message: firstLine(err.message), exitCode: USAGE_CODES.has(err.code) ? EXIT_USAGE : EXIT_FAILURE }
  }
  const e = err as { code?: unknown; message?: unknown; errors?: unknown[] }
  const code = typeof e?.code === 'string' ? e.code : ''
  if (CONNECTION_CODES.has(code) || (Array.isArray(e?.errors) && e.errors.some((x) => CONNECTION_CODES.has(String((x as { code?: unknown })?.code))))) {
    return { message: `cannot reach the broker (${code || 'connection failed'}): ${firstLine(String(e.message ?? ''))}`, exitCode: EXIT_FAILURE }
  }
  if (err instanceof Error) return { message: firstLine(err.message || err.name), exitCode: EXIT_FAILURE }
  return { message: String(err), exitCode: EXIT_FAILURE }
}
