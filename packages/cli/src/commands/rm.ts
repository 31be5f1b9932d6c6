import type { Command } from 'commander'
import { COMPLETE_STATES, type TaskStatus } from '@aque/core'
import { type GlobalOptions, openBroker } from '../lib/broker.js'
import { UsageError } from '../lib/errors.js'
import { fetchExisting, parseIds } from '../lib/ids.js'
import { listTasks } from '../lib/listing.js'
import { write } from '../lib/output.js'

interface RmOptions {
  error?: boolean
  success?: boolean
  killed?: boolean
  pending?: boolean
  completed?: boolean
  all?: boolean
  allUsers?: boolean
}

/** The states the flags select, or null for "any" (ids given without flags, or -a). */
function selectedStates(options: RmOptions): Set<TaskStatus> | null {
  if (options.all) return null
  const states = new Set<TaskStatus>()
  if (options.error) states.add('error')
  if (options.success) states.add('success')
  if (options.killed) states.add('killed')
  if (options.pending) states.add('pending')
  if (options.completed) for (const s of COMPLETE_STATES) states.add(s)
  return states.size > 0 ? states : null
}

export function registerRm(program: Command): void {
  program
    .command('rm')
    .summary('remove tasks and their output; prints how many')
    .description(
      "Remove tasks and their output: the given ids, or your tasks in the selected states (every user's with -x). Tasks that are not complete are killed first. Prints how many were removed.",
    )
    .argument('[ids...]', 'task ids')
    .option('-e, --error', 'tasks that ended in error')
    .option('-s, --success', 'tasks that succeeded')
    .option('-k, --killed', 'tasks that were killed')
    .option('-p, --pending', 'tasks that wait to run')
    .option('-c, --completed', 'completed tasks: success, error and killed')
    .option('-a, --all', 'tasks in any state (running ones are killed)')
    .option('-x, --all-users', "every user's tasks, not only yours")
    .addHelpText(
      'after',
      `
Examples:
  $ aque rm 12 13
  $ aque rm -c              # my completed tasks
  $ aque rm -a -x           # everything, everybody's`,
    )
    .action(async (idArgs: string[], options: RmOptions, cmd: Command) => {
      const ids = parseIds(idArgs)
      const states = selectedStates(options)
      if (ids.length === 0 && states === null && !options.all) throw new UsageError('rm: name task ids or select states (-e, -s, -k, -p, -c or -a)')
      const broker = await openBroker(cmd.optsWithGlobals<GlobalOptions>(), 'rm', 'shared')
      let chosen: number[]
      let statusOf: Map<number, { status?: TaskStatus | undefined }>
      if (ids.length > 0) {
        statusOf = await fetchExisting(broker, ids, ['status'])
        chosen = ids.filter((id) => states === null || states.has(statusOf.get(id)?.status as TaskStatus))
      } else {
        statusOf = await listTasks(broker, { allUsers: Boolean(options.allUsers), status: states ? [...states] : undefined, fields: ['status'] })
        chosen = [...statusOf.keys()]
      }
      const live = chosen.filter((id) => !COMPLETE_STATES.has(statusOf.get(id)?.status as TaskStatus))
      // A running task is stopped before its record goes, so that no process outlives it.
      if (live.length > 0) await broker.kill(live)
      let removed = 0
      for (let i = 0; i < chosen.length; i += 1000) removed += await broker.delete(chosen.slice(i, i + 1000))
      await write(process.stdout, `removed ${removed} task${removed === 1 ? '' : 's'}\n`)
    })
}
