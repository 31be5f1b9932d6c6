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

const INCLUDE = /^--- @include "([\w-]+)"$/gm

function include(name: string): string {
  return readFileSync(new URL(`includes/${name}.lua`, dir), 'utf8').replace(/^--- @failed-texts$/m, () => failedTexts())
}

/**
 * Source of a script for EVAL: its `--- @include "name"` lines replaced by includes/<name>.lua
 * (the `--- @failed-texts` line by the constants of failedTexts), then the call begun.
 */
function load(name: string): string {
  return readFileSync(new URL(`${name}.lua`, dir), 'utf8').replace(INCLUDE, (_line, name: string) => `${include(name)}\nbegin(KEYS)`)
}

export function scriptSources(): Map<CommandName, string> {
  sources ??= new Map(COMMANDS.map((name) => [name, load(name)]))
  return sources
}

const numberOfKeys = (name: CommandName) => Number(name.split('-').pop())

/**
 * The scripts as one Redis function library (Redis 7): the helpers are defined once when it is
 * loaded, not at every call as with EVAL (FCALL of the helpers and an empty body: 0.8–1.4 µs;
 * EVALSHA of the same: 4.1–6.1 µs). The library's and the functions' names carry a hash of
 * the sources, so that other versions of aque on the same Redis keep their own.
 */
interface FunctionCall {
  function: string
  numberOfKeys: number
}
interface Library {
  tag: string
  code: string
  calls: Map<CommandName, FunctionCall>
}
let library: Library | null = null

function functionLibrary(): Library {
  if (library) return library
  const bodies = COMMANDS.map((name) => [name, readFileSync(new URL(`${name}.lua`, dir), 'utf8')] as const)
  const includes = new Set<string>()
  for (const [, body] of bodies) for (const m of body.matchAll(INCLUDE)) includes.add(m[1] as string)
  const hash = createHash('sha1')
  for (const [, body] of bodies) hash.update(body)
  for (const name of includes) hash.update(include(name))
  const tag = `aque_${hash.digest('hex').slice(0, 12)}`
  const calls = new Map(COMMANDS.map((name) => [name, { function: `${tag}_${name.replace(/-\d+$/, '').replace(/-/g, '_')}`, numberOfKeys: numberOfKeys(name) }]))
  const parts = [`#!lua name=${tag}`, ...[...includes].map(include)]
  for (const [name, body] of bodies) {
    parts.push(`redis.register_function('${calls.get(name)?.function}', function(KEYS, ARGV)\nbegin(KEYS)\n${body.replace(INCLUDE, '')}\nend)`)
  }
  library = { tag, code: parts.join('\n'), calls }
  return library
}

interface Script {
  lua: string
  sha: string
}
let scripts: Map<CommandName, Script> | null = null

function script(name: CommandName): Script {
  scripts ??= new Map(
    [...scriptSources()].map(([n, lua]) => [n, { lua, sha: createHash('sha1').update(lua).digest('hex') }]),
  )
  const found = scripts.get(name)
  if (!found) throw new Error(`no script ${name}`)
  return found
}

type Arg = string | number | Buffer
/** Replies as text (binary data goes in and out through the dedicated commands, not here). */
const OPTIONS = { replyEncoding: 'utf8' } as const

/** Runs a script by EVALSHA, and by EVAL when Redis does not hold it (first use on that server, or after a restart), which also caches it. */
function evalScript<T>(client: Redis, name: CommandName, keys: string[], args: Arg[]): Promise<T> {
  const { lua, sha } = script(name)
  const argv: Arg[] = [sha, numberOfKeys(name), ...keys, ...args]
  const first = client.sendCommand(new Command('evalsha', argv, OPTIONS)) as Promise<T>
  return first.catch((err: unknown) => {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
    argv[0] = lua
    return client.sendCommand(new Command('eval', argv, OPTIONS)) as Promise<T>
  })
}

/** Clients of a Redis without functions (before 7.0, or FUNCTION not allowed to the user): they use EVAL. */
const withoutFunctions = new WeakSet<Redis>()

/** Runs the scripts of `client` by EVAL from now on, as on a Redis without functions (and in tests of that path). */
export function useEval(client: Redis): void {
  withoutFunctions.add(client)
}

/** The name of the function library (to look at or delete it). */
export function libraryName(): string {
  return functionLibrary().tag
}
/** The library being loaded on a client, shared by the calls that found it missing. */
const loading = new WeakMap<Redis, Promise<unknown>>()

function loadLibrary(client: Redis): Promise<unknown> {
  let load = loading.get(client)
  if (!load) {
    load = (client.sendCommand(new Command('function', ['LOAD', 'REPLACE', functionLibrary().code], OPTIONS)) as Promise<unknown>).finally(() => loading.delete(client))
    loading.set(client, load)
  }
  return load
}

/**
 * Runs a script: FCALL of its function in the library, which is loaded (again) when Redis does
 * not hold it (first use on that server, or after a restart without persistence); EVAL on a
 * Redis without functions. Commands are sent as they are: ioredis's defineCommand wraps each
 * call in two more promises and copies the arguments twice, and a latency round trip makes two
 * of these calls.
 */
export function runScript<T>(client: Redis, name: CommandName, keys: string[], args: Arg[]): Promise<T> {
  if (withoutFunctions.has(client)) return evalScript<T>(client, name, keys, args)
  const call = functionLibrary().calls.get(name) as FunctionCall
  // FCALL's arguments in one array made at its size (no spreads: this runs per round trip).
  const argv = new Array<Arg>(2 + keys.length + args.length)
  argv[0] = call.function
  argv[1] = call.numberOfKeys
  for (let i = 0; i < keys.length; i++) argv[2 + i] = keys[i] as string
  for (let i = 0, at = 2 + keys.length; i < args.length; i++) argv[at + i] = args[i] as Arg
  const first = client.sendCommand(new Command('fcall', argv, OPTIONS)) as Promise<T>
  return first.catch(async (err: unknown) => {
    if (!(err instanceof Error)) throw err
    if (err.message.startsWith('ERR Function not found')) {
      await loadLibrary(client)
      return client.sendCommand(new Command('fcall', argv, OPTIONS)) as Promise<T>
    }
    if (/^ERR unknown command|^NOPERM/i.test(err.message)) {
      withoutFunctions.add(client)
      return evalScript<T>(client, name, keys, args)
    }
    throw err
  })
}
