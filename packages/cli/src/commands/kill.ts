import { constants } from 'node:os'
import type { Command } from 'commander'
import { COMPLETE_STATES, type TaskStatus } from '@aque/core'
import { type GlobalOptions, openBroker } from '../lib/broker.js'
import { CliError, UsageError } from '../lib/errors.js'
import { dependencyClosure, expandGroups } from '../lib/graph.js'
import { fetchExisting, parseIds } from '../lib/ids.js'

/** Signals that end a process: the task is marked killed. Others (USR1, STOP, CONT…) are only delivered. */
const ENDING = new Set(['SIGTERM', 'SIGKILL', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGABRT'])

/** "INT", "SIGINT", "2" → "SIGINT". */
export function parseSignal(value: string): string {
  const text = value.trim().toUpperCase()
  const signals = constants.signals as Record<string, number>
  if (/^\d+$/.test(text)) {
    const name = Object.keys(signals).find((k) => signals[k] === Number(text))
    if (name) return name
  } else {
    const name = text.startsWith('SIG') ? text : `SIG${text}`
    if (name in signals) return name
  }
  throw new UsageError(`-s: "${value}" is not a signal (e.g. TERM, INT, KILL, 9)`)
}

export function registerKill(program: Command): void {
  program
    .command('kill')
    .summary('kill tasks (pending ones at once, running ones by signal)')
    .description(
      "Kill tasks: a pending task ends in killed at once; a running task's process group gets the signal and the task ends in killed. A signal that does not end a process (USR1, STOP, CONT) is only delivered. Tasks that depend on a killed task fail. A group (aque xargs) stands for its tasks.",
    )
    .argument('<ids...>', 'task ids')
    .option('-s, --signal <sig>', 'the signal: TERM, INT, KILL, HUP, USR1… or its number', parseSignal, 'SIGTERM')
    .option('-r, --recursive', 'also kill what they depend on, transitively')
    .addHelpText(
      'after',
      `
Examples:
  $ aque kill 12
  $ aque kill -s INT 12
  $ aque kill -r 40            # 40 and everything it depends on`,
    )
    .action(async (idArgs: string[], options: { signal: string; recursive?: boolean }, cmd: Command) => {
      const ids = parseIds(idArgs)
      const broker = await openBroker(cmd.optsWithGlobals<GlobalOptions>(), 'kill', 'shared')
      const named = await fetchExisting(broker, ids, ['status', 'pattern'])
      // A group stands for its tasks: killing it kills them.
      const groups = ids.filter((id) => named.get(id)?.pattern === null)
      const targets = options.recursive ? await dependencyClosure(broker, ids) : [...new Set([...ids, ...(await expandGroups(broker, groups))])]
      const tasks = await broker.fetch(targets, ['status'])
      // Dependents first (they have the larger ids): killing a dependency first would fail
      // its dependents as `error` before they could be marked `killed`.
      const live = targets
        .filter((id) => {
          const status = tasks.get(id)?.status as TaskStatus | undefined
          return status !== undefined && !COMPLETE_STATES.has(status)
        })
        .sort((a, b) => b - a)
      const done = ids.filter((id) => !live.includes(id) && !groups.includes(id))
      if (ENDING.has(options.signal)) await broker.kill(live, options.signal)
      else await broker.signal(live.filter((id) => tasks.get(id)?.status === 'running' || tasks.get(id)?.status === 'suspended'), options.signal)
      if (done.length > 0) {
        const what = done.map((id) => `${id} (${named.get(id)?.status})`).join(', ')
        throw new CliError(`already complete, not killed: task ${what}`)
      }
    })
}
