import { readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'

/**
 * The Lua scripts, one per atomic operation (src/commands/<name>-<number of KEYS>.lua, each
 * with a header stating KEYS, ARGV and the reply). They are read from the package's src/
 * folder, which ships with it: the same relative URL works from src/ and from dist/.
 */
const COMMANDS = ['submit-1', 'peek-1', 'claim-1', 'release-1', 'heartbeat-1', 'finish-1', 'reap-1', 'kill-1', 'retry-1', 'delete-1', 'patch-1', 'append-output-1', 'search-1', 'set-suspended-1', 'publish-1'] as const
export type CommandName = (typeof COMMANDS)[number]

const dir = new URL('../src/commands/', import.meta.url)
let sources: Map<CommandName, string> | null = null

/** Source of a script with its `--- @include "name"` lines replaced by includes/<name>.lua. */
function load(name: string): string {
  const text = readFileSync(new URL(`${name}.lua`, dir), 'utf8')
  return text.replace(/^--- @include "([\w-]+)"$/gm, (_line, include: string) => readFileSync(new URL(`includes/${include}.lua`, dir), 'utf8'))
}

export function scriptSources(): Map<CommandName, string> {
  sources ??= new Map(COMMANDS.map((name) => [name, load(name)]))
  return sources
}

const methodNames = new Map<CommandName, string>()

/** The ioredis method name of a script: `append-output-1` → `aqueAppendOutput` (worked out once per name). */
export function methodName(name: CommandName): string {
  let method = methodNames.get(name)
  if (method === undefined) {
    const base = name.replace(/-\d+$/, '')
    method = `aque${base.replace(/(^|-)(\w)/g, (_m, _dash, c: string) => c.toUpperCase())}`
    methodNames.set(name, method)
  }
  return method
}

/** Defines every script on a client (sent with EVALSHA, falling back to EVAL after a restart). */
export function defineScripts(client: Redis): void {
  for (const [name, lua] of scriptSources()) {
    client.defineCommand(methodName(name), { lua, numberOfKeys: Number(name.split('-').pop()) })
  }
}

type Arg = string | number | Buffer
/** Runs a script defined by `defineScripts`. */
export function runScript<T>(client: Redis, name: CommandName, keys: string[], args: Arg[]): Promise<T> {
  const method: unknown = Reflect.get(client, methodName(name))
  if (typeof method !== 'function') throw new Error(`script ${name} is not defined on this client`)
  // One array argument (ioredis flattens it): a batch of 100,000 tasks is too many to spread.
  return method.call(client, [...keys, ...args]) as Promise<T>
}
