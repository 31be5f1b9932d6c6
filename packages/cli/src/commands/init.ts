import type { Command } from 'commander'
import { type GlobalOptions, brokerUrl, noBrokerMessage } from '../lib/broker.js'
import { UsageError } from '../lib/errors.js'
import { write } from '../lib/output.js'
import { getBroker } from '@aque/core'

export function registerInit(program: Command): void {
  program
    .command('init')
    .summary("create or migrate the broker's storage (idempotent)")
    .description("Create or migrate the broker's storage; safe to run again, and by several processes at once. --reset removes all of aque's data first.")
    .option('--reset', "remove all of aque's data (tasks, output) first")
    .addHelpText(
      'after',
      `
Examples:
  $ export AQUE_BROKER=redis://127.0.0.1:6379/0
  $ aque init
  $ aque --broker postgres://aque@db/aque init --reset`,
    )
    .action(async (options: { reset?: boolean }, cmd: Command) => {
      const url = brokerUrl(cmd.optsWithGlobals<GlobalOptions>())
      if (url === null || /^memory:/i.test(url)) throw new UsageError(noBrokerMessage('init'))
      const broker = await getBroker(url)
      try {
        if (options.reset) await broker.destroy()
        await broker.init()
        await write(process.stdout, `${options.reset ? 'reset' : 'initialised'} ${broker.displayUrl()}\n`)
      } finally {
        await broker.close()
      }
    })
}
