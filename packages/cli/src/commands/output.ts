import type { Command } from 'commander'
import { Future } from '@aque/core'
import { type GlobalOptions, openBroker } from '../lib/broker.js'
import { CliError } from '../lib/errors.js'
import { expandGroups } from '../lib/graph.js'
import { fetchExisting, parseIds } from '../lib/ids.js'
import { follow, printStored } from '../lib/output.js'
import { waitAll } from '../lib/run.js'

export function registerOutput(program: Command): void {
  program
    .command('output')
    .summary("print tasks' output (stdout to stdout, stderr to stderr)")
    .description(
      "Print what tasks wrote: their stdout on stdout, their stderr on stderr. A group stands for its tasks. With -w, follow until they complete (one task live; several as each completes, with a progress bar on a terminal); the exit code is then 1 if any failed.",
    )
    .argument('<ids...>', 'task ids')
    .option('-w, --wait', 'follow the output until the tasks complete')
    .option('-s, --stream <names>', 'the streams to print, comma-separated: stdout, stderr, log, progress, usage', 'stdout,stderr')
    .addHelpText(
      'after',
      `
Examples:
  $ aque output 12
  $ aque output -w $(aque submit --shell 'echo hello from $AQUE_TID')
  $ aque output -w 40 > all.log        # 40 is an xargs group
  $ aque output -s log 12              # what the task logged (aque log, currentTask().log)`,
    )
    .action(async (idArgs: string[], options: { wait?: boolean; stream: string }, cmd: Command) => {
      const ids = parseIds(idArgs)
      const streams = options.stream.split(',').map((s) => s.trim()).filter((s) => s !== '')
      const broker = await openBroker(cmd.optsWithGlobals<GlobalOptions>(), 'output', 'shared')
      await fetchExisting(broker, ids, ['status'])
      const tasks = await expandGroups(broker, ids)
      if (!options.wait) {
        for (const id of tasks) await printStored(broker, id, streams)
        return
      }
      let failed = 0
      if (tasks.length === 1) {
        const id = tasks[0] as number
        await follow(broker, id, streams)
        if ((await new Future(id, broker).wait()) !== 'success') failed++
      } else {
        // Each task's output is printed whole as soon as it completes, so outputs never interleave.
        const statuses = await waitAll(broker, tasks, { progress: true, onComplete: (id) => printStored(broker, id, streams) })
        failed = tasks.filter((id) => statuses.get(id) !== 'success').length
      }
      if (failed > 0) throw new CliError(`${failed} of ${tasks.length} task${tasks.length > 1 ? 's' : ''} did not succeed`)
    })
}
