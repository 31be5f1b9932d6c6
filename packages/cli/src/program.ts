import { Command, CommanderError } from 'commander'
import { registerInit } from './commands/init.js'
import { registerKill } from './commands/kill.js'
import { registerOutput } from './commands/output.js'
import { registerReport } from './commands/report.js'
import { registerRetry } from './commands/retry.js'
import { registerRm } from './commands/rm.js'
import { registerServe } from './commands/serve.js'
import { registerStatus } from './commands/status.js'
import { registerSubmit } from './commands/submit.js'
import { registerWait } from './commands/wait.js'
import { registerWorker } from './commands/worker.js'
import { registerXargs } from './commands/xargs.js'
import { closeBrokers } from './lib/broker.js'
import { EXIT_USAGE, describeError } from './lib/errors.js'

export const VERSION = '0.1.0'

/** The `aque` program: every command, errors reported by `run` rather than printed by commander. */
export function buildProgram(): Command {
  const program = new Command('aque')
  program
    .description('aque: a task queue. Submit commands from the shell, run them on workers, watch them.')
    .version(VERSION, '-V, --version')
    .option('-b, --broker <url>', 'broker URL: redis://host:6379/0, postgres://user@host/db (default: $AQUE_BROKER)')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .addHelpCommand('help [command]', 'show help for a command')
  registerInit(program)
  registerSubmit(program)
  registerXargs(program)
  registerStatus(program)
  registerOutput(program)
  registerWait(program)
  registerKill(program)
  registerRetry(program)
  registerRm(program)
  registerWorker(program)
  registerReport(program)
  registerServe(program, VERSION)
  program.addHelpText(
    'after',
    `
Environment:
  AQUE_BROKER   the broker URL when --broker is not given. Without it, tasks live in this
                process only: "aque submit --wait" and "aque xargs --wait" then run them here.
  AQUE_TID      set by workers for shell tasks; used by "aque progress" and "aque log".

Examples:
  $ aque submit --wait echo hello                 # no server needed: runs here
  $ export AQUE_BROKER=redis://127.0.0.1:6379/0
  $ aque init && aque worker &                    # a worker in the background
  $ id=$(aque submit --shell 'echo hello from $AQUE_TID'); aque output -w $id
  $ seq 1 20 | aque xargs -n1 -P4 ./work.sh       # 20 tasks under one group
  $ aque status --watch                           # live view, q to quit

Run "aque help <command>" for the options and examples of each command.`,
  )
  return program
}

/** One line for a commander error: "unknown option '--x'" rather than "error: unknown option '--x'". */
function commanderMessage(err: CommanderError): string {
  return err.message.replace(/^error:\s*/, '').split('\n')[0] ?? err.message
}

/**
 * Runs the command line and returns the exit code. Every error is one line on stderr
 * ("aque: …"): exit 2 for usage errors, 1 for failures, never a stack trace.
 */
export async function run(argv: string[]): Promise<number> {
  let code = 0
  try {
    const program = buildProgram()
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" in commander's exitOverride: they exit 0.
      if (err.exitCode === 0) code = 0
      else {
        process.stderr.write(`aque: ${commanderMessage(err)}\n`)
        code = EXIT_USAGE
      }
    } else {
      const { message, exitCode } = describeError(err)
      process.stderr.write(`aque: ${message}\n`)
      if (process.env.AQUE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`)
      code = exitCode
    }
  } finally {
    await closeBrokers()
  }
  return code
}
