/**
 * CPU time of processes on this machine, read from /proc (10 ms ticks): the benchmark's
 * profiling scripts use it to charge a server's work to the statements that caused it.
 */
import { readFileSync, readdirSync } from 'node:fs'

/** CPU seconds of a process (its own and its reaped children's), 0 if it is gone. */
export function processCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100
  } catch {
    return 0 // ended meanwhile
  }
}

/** CPU seconds of every process named postgres (other sessions' included). */
export function postgresCpu() {
  let total = 0
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') total += processCpu(pid)
    } catch {
      // ended meanwhile
    }
  }
  return total
}
