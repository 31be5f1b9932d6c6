import type { Command } from 'commander'
import { type Broker, Future, Queue, type TaskPrototype } from '@aque/core'
import { type GlobalOptions, openBroker } from '../lib/broker.js'
import { CliError, UsageError } from '../lib/errors.js'
import { fetchExisting, parseIds } from '../lib/ids.js'
import { follow, write } from '../lib/output.js'
import { isLocal, runInProcess } from '../lib/run.js'
import { type TaskOptions, addTaskOptions, collect, submittingEnviron, taskFields } from '../lib/task-options.js'

interface SubmitOptions extends TaskOptions {
  shell?: boolean
  dep?: string[]
  pipeFrom?: string
  watch?: boolean
  wait?: boolean
}

/** Exit code of a command that ended with this task's error: its own exit code when it has one. */
export async function failureExit(broker: Broker, id: number): Promise<CliError> {
  const err = await new Future(id, broker).exception()
  const code = (err as { exitCode?: unknown } | null)?.exitCode
  const message = `task ${id} failed: ${err ? `${err.name}: ${err.message.split('\n')[0]}` : 'unknown error'}`
  return new CliError(message, typeof code === 'number' && code > 0 && code < 126 ? code : 1)
}

/** After submitting: follow or wait as asked, running the tasks here when the broker is in-process. */
export async function finishSubmission(broker: Broker, id: number, options: { watch?: boolean | undefined; wait?: boolean | undefined }): Promise<void> {
  if (!options.watch && !options.wait) return
  const local = isLocal(broker) ? runInProcess(broker) : null
  try {
    if (options.watch) await follow(broker, id)
    const status = await new Future(id, broker).wait()
    if (status !== 'success') throw await failureExit(broker, id)
  } finally {
    await local?.stop()
  }
}

export function registerSubmit(program: Command): void {
  const command = program
    .command('submit')
    .summary('submit a command as a task; prints its id')
    .description('Submit a command as a task and print its id. The command runs on a worker, in the current directory and environment.')
    .argument('<command...>', 'the program and its arguments (or, with --shell, a shell command line)')
    .option('-s, --shell', 'run the command line with /bin/sh -c (quote it)')
    .option('--dep <ids>', 'tasks that must succeed first (repeat the option, or separate ids with commas)', collect, [])
    .option('--pipe-from <id>', "feed that task's stdout to this one's stdin (and depend on it)")
    .option('-w, --watch', 'print the output live until the task completes')
    .option('--wait', 'wait until the task completes; exit with its status')
  addTaskOptions(command, { name: 'label shown by aque status', shortName: true })
  command.passThroughOptions()
  command.addHelpText(
    'after',
    `
Examples:
  $ aque submit echo hello
  $ aque submit --shell 'echo hello from $AQUE_TID'
  $ aque submit -c 4 --memory 8GB -n render ./render.sh shot010
  $ a=$(aque submit echo hello); aque submit --pipe-from $a md5sum
  $ aque submit --wait make test         # without AQUE_BROKER: runs right here`,
  )
  command.action(async (argv: string[], options: SubmitOptions, cmd: Command) => {
    const global = cmd.optsWithGlobals<GlobalOptions>()
    const waits = Boolean(options.wait || options.watch)
    const broker = await openBroker(global, 'submit', waits ? 'any' : 'shared')
    const deps = parseIds(options.dep ?? [])
    const pipeFrom = options.pipeFrom === undefined ? null : (parseIds([options.pipeFrom])[0] ?? null)
    if (options.pipeFrom !== undefined && pipeFrom === null) throw new UsageError('--pipe-from: give a task id')
    if (pipeFrom !== null && !deps.includes(pipeFrom)) deps.push(pipeFrom)
    await fetchExisting(broker, deps, ['status'])
    const args = options.shell ? ['/bin/sh', '-c', argv.join(' ')] : argv
    const prototype: TaskPrototype = {
      ...taskFields(options),
      pattern: 'shell',
      args,
      dependencies: deps,
      ...(options.name ? { name: options.name } : {}),
      ...(options.environ !== false ? { environ: submittingEnviron() } : {}),
      ...(pipeFrom !== null ? { pipeFrom } : {}),
    }
    const future = await new Queue({ broker }).submitEx(prototype)
    await write(process.stdout, `${future.id}\n`)
    await finishSubmission(broker, future.id, options)
  })
}
