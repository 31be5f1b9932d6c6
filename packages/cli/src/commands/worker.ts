import { type FSWatcher, watch } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Command } from 'commander'
import { type Broker, Worker } from '@aque/core'
import { type GlobalOptions, openBroker } from '../lib/broker.js'
import { collect, nonNegativeInteger, positiveInteger } from '../lib/task-options.js'
import { UsageError } from '../lib/errors.js'

interface WorkerCliOptions {
  one?: boolean
  toEnd?: boolean
  cpus?: string
  memory?: string
  concurrency?: number
  import: string[]
  reload?: boolean
  grace: number
  hostname?: string
  leaseMs?: number
  preempt?: boolean
  localFirst?: boolean
  prefetch?: number
}

type Mode = 'one' | 'end' | 'forever'

function isPath(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/')
}

/**
 * Imports the task modules. After a restart (`generation` > 0) a query string makes Node load
 * a fresh copy of each path module, so redefined tasks replace the old ones. Modules those
 * import are not reloaded: keep task code in the imported files, or restart the process.
 */
async function importModules(specs: string[], generation: number): Promise<void> {
  for (const spec of specs) {
    const url = isPath(spec) ? pathToFileURL(resolve(spec)).href + (generation > 0 ? `?aque-reload=${generation}` : '') : spec
    await import(url)
  }
}

/** Resolves when new work may be there (an event, or a slow poll as back-up). */
function newWork(broker: Broker, ms: number): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms)
    const off = broker.on('new_work', finish)
    function finish() {
      clearTimeout(timer)
      off()
      done()
    }
  })
}

function log(message: string): void {
  process.stderr.write(`aque worker: ${message}\n`)
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .summary('run tasks: until stopped, one (-1), or until none is left (-2)')
    .description(
      `Run tasks from the broker. SIGINT/SIGTERM stop it gracefully: it takes no more work, lets running tasks finish for up to --grace ms, then kills their process groups and hands the tasks back (pending, to run again elsewhere). A second SIGINT does that at once. SIGHUP (and, with --reload, a change of an imported file) stops taking work, lets the running tasks finish, re-imports the modules and carries on in the same process (same pid).`,
    )
    .option('-1, --one', 'run one task (waiting for one if needed), then exit')
    .option('-2, --to-end', 'run until nothing it can run is left, then exit 0')
    .option('-c, --cpus <n>', "CPUs it offers to tasks (default: the machine's)")
    .option('--memory <size>', "memory it offers to tasks, e.g. 16GB (default: the machine's)")
    .option('--concurrency <n>', 'most tasks at once (default 32)', positiveInteger('--concurrency'))
    .option('--prefetch <n>', 'short tasks claimed ahead of free slots (default 32 × concurrency; 0: none)', nonNegativeInteger('--prefetch'))
    .option('--import <module>', 'a module that defines tasks (repeat for several)', collect, [])
    .option('--reload', 'restart when an imported file changes')
    .option('--grace <ms>', 'on SIGINT/SIGTERM, how long running tasks may finish before they are killed', positiveInteger('--grace'), 10_000)
    .option('--hostname <name>', 'host name matched against the tasks\' host rules (default: this host\'s)')
    .option('--lease-ms <ms>', 'length of a claim, renewed while the task runs (default 30000)', positiveInteger('--lease-ms'))
    .option('--preempt', 'suspend running tasks of lower priority (SIGSTOP) to make room for a task that does not fit, and resume them (SIGCONT) after')
    .option('--local-first', 'at equal priority, run tasks whose files (ioPaths) are on local disks before those on network mounts')
    .addHelpText(
      'after',
      `
Examples:
  $ aque worker                                  # run tasks until Ctrl-C
  $ aque worker -c 8 --memory 32GB --import ./dist/tasks.js --reload
  $ aque worker -2                               # drain the queue, then exit
  $ aque worker -c 16 --preempt                  # urgent tasks pause lower-priority ones
  $ kill -HUP $(pgrep -f aque-worker)            # finish, re-import, go on`,
    )
    .action(async (options: WorkerCliOptions, cmd: Command) => {
      if (options.one && options.toEnd) throw new UsageError('worker: use -1 or -2, not both')
      const cpus = options.cpus === undefined ? undefined : Number(options.cpus)
      if (cpus !== undefined && !(cpus > 0)) throw new UsageError(`--cpus: "${options.cpus}" is not a positive number`)
      const mode: Mode = options.one ? 'one' : options.toEnd ? 'end' : 'forever'
      process.title = 'aque-worker'
      const broker = await openBroker(cmd.optsWithGlobals<GlobalOptions>(), 'worker', 'shared')
      await broker.ready()

      let generation = 0
      let current: Worker | null = null
      let request: 'restart' | 'shutdown' | null = null
      /** The stops in flight: the process ends only once they have handed their tasks back. */
      const stopping: Array<Promise<void> | undefined> = []
      /**
       * Stops taking work; running tasks may finish for `graceMs`, then the worker kills their
       * process groups and hands them back to pending (their attempt kept) to run elsewhere.
       */
      const shutdown = (signal: string) => {
        if (request === 'shutdown') {
          log(`${signal}: killing running tasks and handing them back now`)
          stopping.push(current?.stop({ graceMs: 0 }))
          return
        }
        request = 'shutdown'
        const running = current?.runningIds.length ?? 0
        log(`${signal}: stopping${running > 0 ? `; ${running} running task${running > 1 ? 's' : ''} may finish for ${options.grace} ms` : ''}`)
        stopping.push(current?.stop({ graceMs: options.grace }))
      }
      const restart = (why: string) => {
        if (request) return
        request = 'restart'
        log(`${why}: finishing running tasks, then restarting`)
        void current?.stop()
      }
      const onInt = () => shutdown('SIGINT')
      const onTerm = () => shutdown('SIGTERM')
      const onHup = () => restart('SIGHUP')
      process.on('SIGINT', onInt)
      process.on('SIGTERM', onTerm)
      process.on('SIGHUP', onHup)

      const watchers: FSWatcher[] = []
      if (options.reload) {
        let debounce: NodeJS.Timeout | null = null
        for (const spec of options.import.filter(isPath)) {
          watchers.push(
            watch(resolve(spec), () => {
              if (debounce) clearTimeout(debounce)
              debounce = setTimeout(() => restart(`${spec} changed`), 200)
            }),
          )
        }
      }

      try {
        for (;;) {
          await importModules(options.import, generation)
          if (request === 'shutdown') break
          const worker = new Worker(broker, {
            ...(cpus !== undefined ? { cpus } : {}),
            ...(options.memory !== undefined ? { memory: options.memory } : {}),
            ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
            ...(options.prefetch !== undefined ? { prefetch: options.prefetch } : {}),
            ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
            ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
            ...(options.preempt ? { preempt: true } : {}),
            ...(options.localFirst ? { localFirst: true } : {}),
            // Child processes of isolated tasks import the same modules.
            imports: options.import,
          })
          current = worker
          if (generation === 0) log(`${worker.id} on ${broker.displayUrl()}: ${worker.capacity.cpus} cpus`)
          if (mode === 'one') {
            while (request === null && !(await worker.runOne())) await newWork(broker, 2000)
          } else if (mode === 'end') {
            await worker.runToEnd()
          } else {
            await worker.runForever()
          }
          if (request !== 'restart') break
          request = null
          generation++
        }
      } finally {
        await Promise.all(stopping)
        for (const w of watchers) w.close()
        process.off('SIGINT', onInt)
        process.off('SIGTERM', onTerm)
        process.off('SIGHUP', onHup)
      }
    })
}
