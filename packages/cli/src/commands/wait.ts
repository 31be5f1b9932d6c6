import type { Command } from 'commander'
import { type Broker, Future } from '@aque/core'
import { type GlobalOptions, openBroker } from '../lib/broker.js'
import { CliError } from '../lib/errors.js'
import { expandGroups } from '../lib/graph.js'
import { fetchExisting, parseIds } from '../lib/ids.js'
import { stdoutOf, write } from '../lib/output.js'
import { waitAll } from '../lib/run.js'
import { safeJson } from '../lib/task-view.js'

/** What `--results` prints for a task: a command's stdout, a function's result (strings as they are, the rest as JSON). */
async function resultText(broker: Broker, id: number): Promise<string | Buffer> {
  const task = (await broker.fetch([id], ['pattern', 'result'])).get(id)
  if (task?.pattern === 'shell') return stdoutOf(broker, id)
  const value = await new Future(id, broker).result()
  return typeof value === 'string' ? `${value}\n` : `${safeJson(value)}\n`
}

export function registerWait(program: Command): void {
  program
    .command('wait')
    .summary('wait until tasks complete; exit 0 only if all succeeded')
    .description(
      'Wait until the tasks complete (a group: its tasks). Exit 0 if all succeeded, else 1, naming the failures on stderr. A progress bar shows on a terminal when there are several, plain lines when stderr is piped.',
    )
    .argument('<ids...>', 'task ids')
    .option('-r, --results', "then print each task's result: a command's stdout, a function's return value")
    .addHelpText(
      'after',
      `
Examples:
  $ aque wait 12 13 && echo all good
  $ a=$(aque submit echo hello); b=$(aque submit --pipe-from $a md5sum); aque wait --results $b`,
    )
    .action(async (idArgs: string[], options: { results?: boolean }, cmd: Command) => {
      const ids = parseIds(idArgs)
      const broker = await openBroker(cmd.optsWithGlobals<GlobalOptions>(), 'wait', 'shared')
      await fetchExisting(broker, ids, ['status'])
      const tasks = await expandGroups(broker, ids)
      const statuses = await waitAll(broker, tasks, { progress: tasks.length > 1 })
      const failed = tasks.filter((id) => statuses.get(id) !== 'success')
      for (const id of failed) {
        const err = await new Future(id, broker).exception()
        process.stderr.write(`aque: task ${id} ${statuses.get(id)}: ${err ? `${err.name}: ${err.message.split('\n')[0]}` : ''}\n`)
      }
      if (options.results) for (const id of tasks) if (statuses.get(id) === 'success') await write(process.stdout, await resultText(broker, id))
      if (failed.length > 0) throw new CliError(`${failed.length} of ${tasks.length} task${tasks.length > 1 ? 's' : ''} did not succeed`)
    })
}
