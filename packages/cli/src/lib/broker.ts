import { AqueError, type Broker, getBroker, redactUrl } from '@aque/core'
import { CliError, UsageError } from './errors.js'

/** Options every command inherits from the program. */
export interface GlobalOptions {
  /** Broker URL. @default $AQUE_BROKER */
  broker?: string
}

/** Whether tasks must outlive this process (then the in-process memory broker will not do). */
export type BrokerNeed = 'shared' | 'any'

/** How long the first round trip to the broker may take before it counts as unreachable, ms. */
const CONNECT_TIMEOUT_MS = Number(process.env.AQUE_CONNECT_TIMEOUT_MS) || 5000

const opened: Broker[] = []

/** The broker URL given by `--broker` or `$AQUE_BROKER`, or null when neither is set. */
export function brokerUrl(options: GlobalOptions): string | null {
  return options.broker || process.env.AQUE_BROKER || null
}

/** The one-line message for a command that needs a broker that outlives the process. */
export function noBrokerMessage(command: string): string {
  return `${command} needs a broker that outlives this process: set AQUE_BROKER (e.g. export AQUE_BROKER=redis://127.0.0.1:6379/0) or pass --broker URL`
}

/**
 * Opens the broker of `--broker` / `$AQUE_BROKER` (memory: when neither is set) and checks
 * that it answers. With `need: 'shared'`, refuses a broker whose tasks die with the process.
 */
export async function openBroker(options: GlobalOptions, command: string, need: BrokerNeed): Promise<Broker> {
  const url = brokerUrl(options)
  if (need === 'shared' && (url === null || /^memory:/i.test(url))) throw new UsageError(noBrokerMessage(command))
  const broker = await getBroker(url ?? 'memory:')
  opened.push(broker)
  if (need === 'shared' && !broker.capabilities.shared) throw new UsageError(noBrokerMessage(command))
  await probe(broker)
  return broker
}

/** One cheap read, bounded in time, so an unreachable server is one clear line, not a hang. */
async function probe(broker: Broker): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CliError(`cannot reach the broker at ${broker.displayUrl()} (no answer within ${CONNECT_TIMEOUT_MS} ms)`)), CONNECT_TIMEOUT_MS)
  })
  try {
    await Promise.race([broker.fetchRecords([1], ['status']), timeout])
  } catch (err) {
    if (err instanceof CliError || (err instanceof AqueError && err.code === 'AQUE_BROKER_CONNECTION')) throw err
    const message = (err as Error)?.message?.split('\n')[0] ?? String(err)
    throw new CliError(`cannot use the broker at ${redactUrl(broker.displayUrl())}: ${message} (did you run "aque init"?)`)
  } finally {
    clearTimeout(timer)
  }
}

/** Closes every broker this process opened (bounded: a dead server must not keep us alive). */
export async function closeBrokers(): Promise<void> {
  const all = opened.splice(0)
  await Promise.race([Promise.allSettled(all.map((b) => b.close())), new Promise((r) => setTimeout(r, 2000).unref())])
}
