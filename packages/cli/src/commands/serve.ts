import type { Command } from 'commander'
import { type GlobalOptions, openBroker } from '../lib/broker.js'
import { CliError, UsageError } from '../lib/errors.js'
import { write } from '../lib/output.js'
import { isLoopback, startServer } from '../serve/server.js'

interface ServeCliOptions {
  host: string
  port: number
  broker?: string
  public?: boolean
}

function port(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new UsageError(`--port: "${value}" is not a port (0 to 65535; 0 picks a free one)`)
  return n
}

/** Why a non-loopback address needs --public, in one line. */
const PUBLIC_WARNING =
  'the API has no authentication and can kill, retry and remove every task, so anyone who can reach the address can too'

export function registerServe(program: Command, version: string): void {
  program
    .command('serve')
    .summary('HTTP API and a live web page of the tasks')
    .description(
      `Serve a JSON API and a web page (counts by state, the newest tasks updated live, a task's output followed live, kill and retry) until SIGINT/SIGTERM. It binds a loopback address by default: ${PUBLIC_WARNING}; another address needs --public. Routes: GET /api/tasks?status=&parent=&user=&limit=&after= (also order=desc&before=, ids=), GET /api/tasks/:id, GET /api/tasks/:id/output?since=, GET /api/counts, GET /api/info, POST /api/tasks/:id/kill {signal?, dependencies?}, POST /api/tasks/:id/retry {includeSuccess?}, DELETE /api/tasks/:id, GET /api/events?task=ID (Server-Sent Events).`,
    )
    .option('--host <address>', 'the address to listen on', '127.0.0.1')
    .option('--port <n>', 'the port; 0 picks a free one', port, 8080)
    .option('-b, --broker <url>', 'broker URL (default: $AQUE_BROKER)')
    .option('--public', 'allow a non-loopback --host (no authentication: only on a trusted network)')
    .addHelpText(
      'after',
      `
Examples:
  $ aque serve                                   # http://127.0.0.1:8080/
  $ aque serve --port 9000 --broker postgres://aque@db/aque
  $ curl -s 'http://127.0.0.1:8080/api/tasks?status=error&limit=10'
  $ curl -s -X POST -H 'content-type: application/json' -d '{"signal":"INT"}' http://127.0.0.1:8080/api/tasks/12/kill
  $ curl -sN 'http://127.0.0.1:8080/api/events?task=12'      # live status, output, progress
  $ ssh -L 8080:127.0.0.1:8080 host                          # reach it from elsewhere, safely`,
    )
    .action(async (options: ServeCliOptions, cmd: Command) => {
      const host = options.host.trim()
      if (host === '') throw new UsageError('--host: must not be empty')
      if (!isLoopback(host) && !options.public) {
        throw new UsageError(`serve: refusing to listen on ${host}: ${PUBLIC_WARNING}; pass --public on a trusted network, or reach a loopback server through ssh -L`)
      }
      const globals = cmd.optsWithGlobals<GlobalOptions>()
      const broker = await openBroker({ broker: options.broker ?? globals.broker }, 'serve', 'shared')
      await broker.ready()
      const log = (line: string) => process.stderr.write(`aque serve: ${line}\n`)
      let server: Awaited<ReturnType<typeof startServer>>
      try {
        server = await startServer(broker, { host, port: options.port, public: Boolean(options.public), version, onError: log })
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'EADDRINUSE') throw new CliError(`port ${options.port} is in use on ${host} (choose another with --port, or --port 0 for any free one)`)
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') throw new CliError(`cannot listen on ${host}: no such local address`)
        if (code === 'EACCES') throw new CliError(`not allowed to listen on port ${options.port} (ports below 1024 need privileges)`)
        throw err
      }
      if (options.public && !isLoopback(host)) log(`warning: listening on ${host}: ${PUBLIC_WARNING}`)
      await write(process.stdout, `${server.url}\n`)
      log(`${broker.displayUrl()}; Ctrl-C stops`)
      const signal = await new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'))
        process.once('SIGTERM', () => resolve('SIGTERM'))
      })
      log(`${signal}: stopping`)
      await server.close()
    })
}
