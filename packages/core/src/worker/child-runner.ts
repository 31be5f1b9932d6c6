/**
 * The program a worker's pool forks for function tasks with `isolation: "process"` (or an
 * `interpreter`): it imports the worker's modules once, then runs one task at a time, so that
 * a crash or a kill of a task never takes the worker down. argv[2] is the JSON list of modules.
 */
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'
import type { BaseBroker } from '../broker/base-broker.js'
import { getBroker } from '../broker/registry.js'
import { EMPTY_ARGS, decode, encode } from '../codec/codec.js'
import { AqueError } from '../errors/aque-error.js'
import { resolveFunction } from '../functions/registry.js'
import type { FromChild, ToChild } from './child-protocol.js'
import { taskStorage } from './task-context.js'

const send = (message: FromChild) => process.send?.(message)

function encodeFailure(err: unknown): string {
  try {
    return encode(err)
  } catch {
    const e = err instanceof Error ? err : new Error(String(err))
    return encode(Object.assign(new Error(e.message), { name: e.name, stack: e.stack }))
  }
}

async function run({ record, brokerUrl }: Extract<ToChild, { type: 'run' }>): Promise<void> {
  let broker: BaseBroker | null = null
  const controller = new AbortController()
  try {
    const fn = await resolveFunction(record.func ?? '', record.cwd)
    const args = record.args === EMPTY_ARGS ? [] : (decode(record.args) as unknown[])
    const kwargs = record.kwargs === null ? null : decode(record.kwargs)
    const context = {
      record,
      signal: controller.signal,
      get broker(): BaseBroker {
        if (!broker) throw new AqueError(`a task in a subprocess reaches the broker only when it is shared (not ${brokerUrl})`)
        return broker
      },
      write(stream: string, data: Uint8Array | string) {
        send({ type: 'write', stream, data: Buffer.from(data).toString('base64') })
      },
      async progress(done: number, total: number | null, message: string | null) {
        send({ type: 'progress', done, total, message })
      },
    }
    if (!brokerUrl.startsWith('memory:')) broker = await getBroker(brokerUrl)
    const value = await taskStorage.run(context, () => (kwargs ? fn(...args, kwargs) : fn(...args)))
    send({ type: 'done', ok: true, result: encode(value, 'result') })
  } catch (err) {
    send({ type: 'done', ok: false, error: encodeFailure(err) })
  } finally {
    await broker?.close()
  }
}

async function main(): Promise<void> {
  const imports = JSON.parse(process.argv[2] ?? '[]') as string[]
  for (const spec of imports) {
    await import(spec.startsWith('.') || spec.startsWith('/') ? pathToFileURL(resolve(spec)).href : spec)
  }
  process.on('message', (message: ToChild) => {
    if (message.type === 'run') void run(message)
  })
  // The worker is gone: so is this child.
  process.on('disconnect', () => process.exit(0))
  send({ type: 'ready' })
}

void main()
