import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { type Broker, Future, Queue, type TaskPrototype } from '@aque/core'
import { type GlobalOptions, openBroker } from '../lib/broker.js'
import { CliError, UsageError } from '../lib/errors.js'
import { write } from '../lib/output.js'
import { isLocal, runInProcess, waitAll } from '../lib/run.js'
import { type TaskOptions, addTaskOptions, positiveInteger, submittingEnviron, taskFields } from '../lib/task-options.js'
import { commandFor, splitInput } from '../lib/xargs-input.js'
import { shellQuote } from '../lib/task-view.js'

interface XargsOptions extends TaskOptions {
  maxLines?: number
  maxArgs?: number
  maxProcs?: number
  replace?: string
  null?: boolean
  delimiter?: string
  argFile?: string
  shell?: boolean
  verbose?: boolean
  watch?: boolean
  wait?: boolean
}

/** Exit status of xargs when some command failed. */
const EXIT_SOME_FAILED = 123

function delimiterOf(options: XargsOptions): string | undefined {
  if (options.null) return '\0'
  if (options.delimiter === undefined) return undefined
  const escapes: Record<string, string> = { '\\n': '\n', '\\t': '\t', '\\0': '\0', '\\\\': '\\' }
  const d = escapes[options.delimiter] ?? options.delimiter
  if (d.length !== 1) throw new UsageError('xargs: -d takes a single character (or \\n, \\t, \\0)')
  return d
}

async function readInput(options: XargsOptions): Promise<string> {
  if (options.argFile) return readFile(options.argFile, 'utf8')
  if (process.stdin.isTTY) process.stderr.write('aque xargs: reading arguments from the terminal (end with Ctrl-D)\n')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** Waits for the group's tasks as asked; exit 123 when some failed, like xargs. */
async function finish(broker: Broker, ids: number[], options: XargsOptions): Promise<void> {
  if (!options.watch && !options.wait) return
  const local = isLocal(broker) ? runInProcess(broker) : null
  try {
    const statuses = await waitAll(broker, ids, { progress: Boolean(options.watch), label: 'tasks' })
    const failed = ids.filter((id) => statuses.get(id) !== 'success')
    if (failed.length > 0) {
      const first = await new Future(failed[0] as number, broker).exception()
      throw new CliError(`${failed.length} of ${ids.length} tasks failed (first: task ${failed[0]}: ${first?.message.split('\n')[0] ?? 'unknown error'})`, EXIT_SOME_FAILED)
    }
  } finally {
    await local?.stop()
  }
}

export function registerXargs(program: Command): void {
  const command = program
    .command('xargs')
    .summary('submit one task per input line or group of words, under one group task')
    .description(
      'Build command lines from standard input, like xargs, and submit each as a task under one group task. Prints the group id (every id with -v). The environment is stored once, on the group, and its tasks inherit it.',
    )
    .argument('[command...]', 'the program and its first arguments', ['echo'])
    .option('-n, --max-args <n>', 'at most n arguments per command', positiveInteger('-n'))
    .option('-L, --max-lines <n>', 'at most n non-blank input lines per command', positiveInteger('-L'))
    .option('-I, --replace <str>', 'one command per input line, with str in the arguments replaced by the line')
    .option('-P, --max-procs <n>', 'reserve 1/n of each worker\'s CPUs per task (so n run at once on a worker)', positiveInteger('-P'))
    .option('-0, --null', 'items are separated by a null character, not blanks (find -print0)')
    .option('-d, --delimiter <char>', 'items are separated by this character, not blanks')
    .option('-a, --arg-file <file>', 'read items from the file, not standard input')
    .option('-s, --shell', 'the command is a shell script run by /bin/sh -c; the items are its $1, $2…')
    .option('-v, --verbose', 'print the id of every task, then the group id')
    .option('-w, --watch', 'show the progress until every task completes')
    .option('--wait', 'wait until every task completes; exit 123 if any failed')
  addTaskOptions(command, { name: 'name of the group task', shortName: false })
  command.passThroughOptions()
  command.addHelpText(
    'after',
    `
Splitting follows xargs: words are separated by blanks and newlines, quotes and backslashes
protect them; -n N puts N words in each command, -L N the words of N lines, and without
either all words go into one command. With -I, each line is one argument.

Examples:
  $ seq 1 20 | aque xargs -n1 bash -c 'echo $AQUE_TID says $1 >> result.txt' procname
  $ ls *.exr | aque xargs -n1 -P4 --name debayer ./debayer.sh
  $ find shots -name '*.mov' -print0 | aque xargs -0 -I{} ffmpeg -i {} {}.mp4
  $ seq 1 4 | aque xargs -n1 -s 'sleep $1; echo slept $1' --watch`,
  )
  command.action(async (argv: string[], options: XargsOptions, cmd: Command) => {
    const global = cmd.optsWithGlobals<GlobalOptions>()
    const waits = Boolean(options.wait || options.watch)
    const input = await readInput(options)
    const lists = splitInput(input, { delimiter: delimiterOf(options), maxArgs: options.maxArgs, maxLines: options.maxLines, replace: options.replace })
    if (lists.length === 0) return // xargs -r: nothing to run for empty input
    const broker = await openBroker(global, 'xargs', waits ? 'any' : 'shared')
    const queue = new Queue({ broker })
    const fields = taskFields(options)
    const name = options.name ?? `xargs ${argv.map(shellQuote).join(' ')}`
    // The group holds what every task shares (environment, cwd) once; its tasks name it as
    // their parent and inherit its environment at run time.
    const group = await queue.submitEx({
      ...fields,
      pattern: null,
      name,
      ...(options.environ !== false ? { environ: submittingEnviron() } : {}),
    })
    const prototypes: TaskPrototype[] = lists.map((items) => ({
      ...fields,
      pattern: 'shell',
      args: options.shell ? ['/bin/sh', '-c', argv.join(' '), 'sh', ...items] : commandFor(argv, items, options.replace),
      parent: group.id,
      ...(options.maxProcs !== undefined ? { cpus: -options.maxProcs } : {}),
    }))
    const futures = await queue.submitMany(prototypes)
    if (options.verbose) await write(process.stdout, futures.map((f) => `${f.id}\n`).join(''))
    await write(process.stdout, `${group.id}\n`)
    await finish(
      broker,
      futures.map((f) => f.id),
      options,
    )
  })
}
