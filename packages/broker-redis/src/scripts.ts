import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { dependencyFailedText } from '@aque/core'
import { Command, type Redis } from 'ioredis'

/**
 * The Lua scripts, one per atomic operation (src/commands/<name>-<number of KEYS>.lua, each
 * with a header stating KEYS, ARGV and the reply). They are read from the package's src/
 * folder, which ships with it: the same relative URL works from src/ and from dist/.
 */
const COMMANDS = ['submit-1', 'peek-1', 'claim-1', 'release-1', 'heartbeat-1', 'finish-1', 'reap-1', 'kill-1', 'retry-1', 'delete-1', 'patch-1', 'append-output-1', 'search-1', 'set-suspended-1', 'publish-1'] as const
export type CommandName = (typeof COMMANDS)[number]

const dir = new URL('../src/commands/', import.meta.url)
let sources: Map<CommandName, string> | null = null

/** An id that cannot be a real one, replaced by the scripts in the failed-dependency texts. */
const FAILED_ID = '987654321012345'

/** A Lua string literal of `text` (bytes outside printable ASCII as decimal escapes). */
function luaString(text: string): string {
  let out = '"'
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte)
    else out += `\\${byte}`
  }
  return `${out}"`
}

/**
 * The codec texts of DependencyFailedError, as constants of the scripts: written into them
 * once, not sent with every call (they were most of the bytes of a lone submit and finish).
 */
function failedTexts(): string {
  const text = (status: 'error' | 'killed') => luaString(dependencyFailedText(Number(FAILED_ID), status))
  return `local FAILED_TEXTS = { error = ${text('error')}, killed = ${text('killed')} }\nlocal FAILED_ID = '${FAILED_ID}'`
}

/**
 * Source of a script with its `--- @include "name"` lines replaced by includes/<name>.lua, and
 * the `--- @failed-texts` line by the constants of failedTexts.
 */
function load(name: string): string {
  const text = readFileSync(new URL(`${name}.lua`, dir), 'utf8')
  return text
    .replace(/^--- @include "([\w-]+)"$/gm, (_line, include: string) => readFileSync(new URL(`includes/${include}.lua`, dir), 'utf8'))
    .replace(/^--- @failed-texts$/m, () => failedTexts())
}

export function scriptSources(): Map<CommandName, string> {
  sources ??= new Map(COMMANDS.map((name) => [name, load(name)]))
  return sources
}

interface Script {
  lua: string
  sha: string
  numberOfKeys: number
}
let scripts: Map<CommandName, Script> | null = null

function script(name: CommandName): Script {
  scripts ??= new Map(
    [...scriptSources()].map(([n, lua]) => [n, { lua, sha: createHash('sha1').update(lua).digest('hex'), numberOfKeys: Number(n.split('-').pop()) }]),
  )
  const found = scripts.get(name)
  if (!found) throw new Error(`no script ${name}`)
  return found
}

type Arg = string | number | Buffer
/** Replies as text (binary data goes in and out through the dedicated commands, not here). */
const OPTIONS = { replyEncoding: 'utf8' } as const

/**
 * Runs a script by EVALSHA, and by EVAL when Redis does not hold it (its first use on that
 * server, or after a restart), which also caches it there. A Command sent as it is: ioredis's
 * defineCommand wraps each call in two more promises and copies the arguments twice, and a
 * latency round trip makes two of these calls.
 */
export function runScript<T>(client: Redis, name: CommandName, keys: string[], args: Arg[]): Promise<T> {
  const { lua, sha, numberOfKeys } = script(name)
  const argv: Arg[] = [sha, numberOfKeys, ...keys, ...args]
  const first = client.sendCommand(new Command('evalsha', argv, OPTIONS)) as Promise<T>
  return first.catch((err: unknown) => {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
    argv[0] = lua
    return client.sendCommand(new Command('eval', argv, OPTIONS)) as Promise<T>
  })
}
