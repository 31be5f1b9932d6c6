import { readFileSync } from 'node:fs'
import { hostname, networkInterfaces } from 'node:os'

/** The names and addresses a worker answers to, for `host` rules. */
export interface HostIdentity {
  /** Hostname, its short form, and aliases from /etc/hosts, lower-cased. */
  names: string[]
  /** IPv4 and IPv6 addresses of the machine's interfaces. */
  addresses: string[]
}

/** Names /etc/hosts gives to the machine's hostname or addresses. */
function aliasesFromHosts(name: string, addresses: Set<string>): string[] {
  let text: string
  try {
    text = readFileSync('/etc/hosts', 'utf8')
  } catch {
    return []
  }
  const out: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim()
    if (!line) continue
    const [address, ...names] = line.split(/\s+/)
    if (!address) continue
    if (addresses.has(address) || names.some((n) => n.toLowerCase() === name)) out.push(...names)
  }
  return out
}

/** Reads the machine's identity. `name` overrides the hostname (a worker's `hostname` option). */
export function detectHostIdentity(name: string = hostname()): HostIdentity {
  const addresses = new Set<string>()
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) addresses.add(info.address.replace(/%.*$/, ''))
  }
  const lower = name.toLowerCase()
  const names = new Set([lower, lower.split('.')[0] as string])
  // Loopback aliases (localhost) name every machine: they say nothing about this one.
  const own = new Set([...addresses].filter((a) => a !== '127.0.0.1' && a !== '::1'))
  for (const alias of aliasesFromHosts(lower, own)) names.add(alias.toLowerCase())
  return { names: [...names], addresses: [...addresses] }
}
