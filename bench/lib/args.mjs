/** Command line of bench/run.mjs, validated with zod; a bad argument is a one-line error. */
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { GROUPS, SCENARIOS } from './systems.mjs'

export const USAGE =
  'usage: node bench/run.mjs [--systems a,b] [--scenarios drain,latency,backlog,memory,shell] [--group memory|redis|postgres] [--runs 3] [--timeout 300] [--json]'

/** A comma-separated list, empty items dropped; undefined when the flag is absent. */
const list = z
  .string()
  .optional()
  .transform((s) =>
    s === undefined
      ? undefined
      : s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
  )

const argsSchema = z.object({
  systems: list,
  scenarios: list.pipe(z.array(z.enum(SCENARIOS)).min(1, 'expected at least one scenario').optional()),
  group: z.enum(GROUPS).optional(),
  runs: z.coerce.number().int().min(1).max(50).default(3),
  /** Bound of each child, seconds. */
  timeout: z.coerce.number().int().min(1).max(3600).default(300),
  json: z.boolean().default(false),
  help: z.boolean().default(false),
})

/** @typedef {z.infer<typeof argsSchema>} BenchArgs */

/** A bad command line: run.mjs prints the message and the usage. */
export class UsageError extends Error {
  name = 'UsageError'
}

/**
 * @param {string[]} argv
 * @returns {BenchArgs}
 * @throws {Error} with a one-line message
 */
export function parseBenchArgs(argv) {
  /** @type {ReturnType<typeof parseArgs>['values']} */
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        systems: { type: 'string' },
        scenarios: { type: 'string' },
        group: { type: 'string' },
        runs: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (err) {
    throw new UsageError(/** @type {Error} */ (err).message.split('\n')[0])
  }
  const parsed = argsSchema.safeParse(values)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new UsageError(`--${issue?.path[0] ?? '?'}: ${issue?.message}`)
  }
  return parsed.data
}
