import { readFileSync } from 'node:fs'

function lookup(file: string, name: string): string[] | null {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const fields = line.split(':')
      if (fields[0] === name) return fields
    }
  } catch {
    // No such file (not Unix).
  }
  return null
}

/** uid and primary gid of a user name (or numeric id), from /etc/passwd. */
export function userIds(user: string): { uid: number; gid: number } | null {
  if (/^\d+$/.test(user)) return { uid: Number(user), gid: Number(user) }
  const fields = lookup('/etc/passwd', user)
  return fields ? { uid: Number(fields[2]), gid: Number(fields[3]) } : null
}

/** gid of a group name (or numeric id), from /etc/group. */
export function groupId(group: string): number | null {
  if (/^\d+$/.test(group)) return Number(group)
  const fields = lookup('/etc/group', group)
  return fields ? Number(fields[2]) : null
}
