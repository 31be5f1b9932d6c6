import { BlockList, isIP } from 'node:net'
import { ValidationError } from '../errors/classes.js'
import type { HostIdentity } from './host-identity.js'

/**
 * A task's `host` requirement: comma-separated rules, each a glob (`render*`, `node-??`) or a
 * CIDR mask (`10.1.0.0/16`) or an address, matched against the worker's names and addresses.
 * Rules starting with `!` exclude. A worker qualifies when it matches at least one positive
 * rule (or there are only exclusions) and no exclusion.
 */
export interface HostRules {
  include: Matcher[]
  exclude: Matcher[]
}
type Matcher = (identity: HostIdentity) => boolean

function globToRegExp(glob: string): RegExp {
  let re = ''
  for (const ch of glob) {
    if (ch === '*') re += '.*'
    else if (ch === '?') re += '.'
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 'i')
}

function matcher(rule: string): Matcher {
  const slash = rule.indexOf('/')
  if (slash > 0 && isIP(rule.slice(0, slash))) {
    const address = rule.slice(0, slash)
    const prefix = Number(rule.slice(slash + 1))
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 'ipv6' ? 128 : 32)) {
      throw new ValidationError(`host: "${rule}" is not a valid CIDR mask`)
    }
    const list = new BlockList()
    list.addSubnet(address, prefix, family)
    return (id) => id.addresses.some((a) => isIP(a) !== 0 && list.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4'))
  }
  if (isIP(rule)) return (id) => id.addresses.includes(rule)
  const re = globToRegExp(rule)
  return (id) => id.names.some((n) => re.test(n))
}

const cache = new Map<string, HostRules>()

/** Parses (and caches) a `host` field. Throws ValidationError on a malformed rule. */
export function parseHostRules(text: string): HostRules {
  let rules = cache.get(text)
  if (rules) return rules
  rules = { include: [], exclude: [] }
  for (const raw of text.split(',')) {
    const rule = raw.trim()
    if (!rule) continue
    if (rule.startsWith('!')) rules.exclude.push(matcher(rule.slice(1).trim()))
    else rules.include.push(matcher(rule))
  }
  if (cache.size > 1000) cache.clear()
  cache.set(text, rules)
  return rules
}

/** Whether a worker of this identity may run a task with this `host` field. */
export function hostMatches(text: string, identity: HostIdentity): boolean {
  const rules = parseHostRules(text)
  if (rules.exclude.some((m) => m(identity))) return false
  return rules.include.length === 0 || rules.include.some((m) => m(identity))
}
