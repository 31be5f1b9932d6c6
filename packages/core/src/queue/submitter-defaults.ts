import { readFileSync } from 'node:fs'
import { userInfo } from 'node:os'

export interface SubmitterDefaults {
  user: string | null
  group: string | null
  cwd: string | null
}

let cached: SubmitterDefaults | null = null

function groupName(gid: number): string {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , id] = line.split(':')
      if (name && Number(id) === gid) return name
    }
  } catch {
    // No /etc/group (not Unix): fall back to the number.
  }
  return String(gid)
}

/** Who submits and from where: the defaults of `user`, `group` and `cwd`. Read once per process. */
export function submitterDefaults(): SubmitterDefaults {
  if (!cached) {
    let user: string | null = null
    let group: string | null = null
    try {
      const info = userInfo()
      user = info.username
      group = info.gid >= 0 ? groupName(info.gid) : null
    } catch {
      // A user without a passwd entry (containers): leave unset.
    }
    cached = { user, group, cwd: null }
  }
  return { ...cached, cwd: process.cwd() }
}
