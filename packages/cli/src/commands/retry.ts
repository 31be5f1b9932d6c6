import type { Command } from 'commander'
import { type GlobalOptions, openBroker } from '../lib/broker.js'
import { CliError } from '../lib/errors.js'
import { expandGroups } from '../lib/graph.js'
import { fetchExisting, parseIds } from '../lib/ids.js'

export function registerRetry(program: Command): void {
  program
    .command('retry')
    .summary('re-run failed (or, with -s, succeeded) tasks under the same id')
    .description(
      'Put tasks that ended in error or killed (and, with -s, success) back to pending under the same id. Tasks that failed only because of them wait again. A group (aque xargs) stands for its tasks.',
    )
    .argument('<ids...>', 'task ids')
    .option('-s, --success', 'also re-run tasks that succeeded')
    .addHelpText(
      'after',
      `
Examples:
  $ aque retry 12
  $ aque retry -s $(aque status --format '{id}' --filter 'name == "render"')`,
    )
    .action(async (idArgs: string[], options: { success?: boolean }, cmd: Command) => {
      const ids = parseIds(idArgs)
      const broker = await openBroker(cmd.optsWithGlobals<GlobalOptions>(), 'retry', 'shared')
      const named = await fetchExisting(broker, ids, ['status', 'pattern'])
      // A group stands for its tasks: retrying it retries those that failed.
      const groups = ids.filter((id) => named.get(id)?.pattern === null)
      const members = (await expandGroups(broker, groups)).filter((id) => !groups.includes(id))
      const candidates = [...new Set([...ids.filter((id) => !groups.includes(id)), ...members])]
      const tasks = await broker.fetch(candidates, ['status'])
      const allowed = new Set(options.success ? ['error', 'killed', 'success'] : ['error', 'killed'])
      const ok = candidates.filter((id) => allowed.has(String(tasks.get(id)?.status)))
      const refused = ids.filter((id) => !groups.includes(id) && !ok.includes(id))
      await broker.retry(ok, { includeSuccess: Boolean(options.success) })
      if (refused.length > 0) {
        const what = refused.map((id) => `${id} (${tasks.get(id)?.status})`).join(', ')
        throw new CliError(`not retried: task ${what}${refused.some((id) => tasks.get(id)?.status === 'success') ? '; -s re-runs successes' : ''}`)
      }
    })
}
