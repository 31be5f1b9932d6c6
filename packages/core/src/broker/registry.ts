import 'reflect-metadata'
import { container } from 'tsyringe'
import { z } from 'zod'
import { BrokerNotFoundError, ValidationError } from '../errors/classes.js'
import type { BaseBroker } from './base-broker.js'

/** Makes a broker for a URL of its scheme. May be async (to load a driver). */
export type BrokerFactory = (url: URL) => BaseBroker | Promise<BaseBroker>

const token = (scheme: string) => `aque:broker:${scheme}`
const urlSchema = z.string().trim().min(1, 'is empty').regex(/^[a-z][a-z0-9+.-]*:/i, 'must start with a scheme such as "redis:" or "memory:"')

/** Registers the factory for a URL scheme (without the colon): `registerBroker('redis', url => new RedisBroker(url))`. */
export function registerBroker(scheme: string, factory: BrokerFactory): void {
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) throw new ValidationError(`scheme: "${scheme}" is not a URL scheme`)
  container.register<BrokerFactory>(token(scheme), { useValue: factory })
}

function registered(scheme: string): BrokerFactory | null {
  return container.isRegistered(token(scheme)) ? container.resolve<BrokerFactory>(token(scheme)) : null
}

/** Hides the password of a URL for messages and displays. */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(String(url))
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return String(url).replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@')
  }
}

/** Packages that may provide a scheme, in the order they are tried. */
export function brokerPackages(scheme: string): string[] {
  return [`@aque/broker-${scheme}`, `aque-broker-${scheme}`]
}

/** Schemes served by one package under another name. */
const ALIASES: Record<string, string> = { rediss: 'redis', postgresql: 'postgres' }

function isMissingModule(err: unknown, name: string): boolean {
  const e = err as { code?: string; message?: string }
  return (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && (e.message ?? '').includes(name)
}

/**
 * Resolves a broker URL: `memory:`, `redis://…`, `postgres://…`, or any scheme whose package
 * (`@aque/broker-<scheme>` or `aque-broker-<scheme>`) registers it when imported.
 * @param url @default process.env.AQUE_BROKER, else "memory:"
 */
export async function getBroker(url?: string): Promise<BaseBroker> {
  const text = url ?? (process.env.AQUE_BROKER || 'memory:')
  const checked = urlSchema.safeParse(text)
  if (!checked.success) throw new ValidationError(`broker URL "${redactUrl(text)}" ${checked.error.issues[0]?.message}`)
  let parsed: URL
  try {
    parsed = new URL(checked.data)
  } catch {
    throw new ValidationError(`broker URL "${redactUrl(text)}" is not a valid URL`)
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase()
  let factory = registered(scheme)
  if (!factory) {
    const base = ALIASES[scheme] ?? scheme
    for (const name of brokerPackages(base)) {
      try {
        await import(name)
      } catch (err) {
        if (isMissingModule(err, name)) continue
        throw err
      }
      factory = registered(scheme)
      if (factory) break
    }
  }
  if (!factory) {
    const base = ALIASES[scheme] ?? scheme
    throw new BrokerNotFoundError(`no broker for "${scheme}:" URLs; install ${brokerPackages(base).join(' or ')}`)
  }
  return factory(parsed)
}
