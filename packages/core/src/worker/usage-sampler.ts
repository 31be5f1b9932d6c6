import { readdir, readFile } from 'node:fs/promises'
import type { Usage } from '../task/record.js'

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS = 100
const PAGE = 4096

interface ProcStat {
  pid: number
  pgid: number
  /** utime + stime + cutime + cstime, in ticks: the children it reaped count too. */
  ticks: number
  rssBytes: number
}

async function readStat(pid: string): Promise<ProcStat | null> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8')
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    const num = (i: number) => Number(fields[i - 3])
    return { pid: Number(pid), pgid: num(5), ticks: num(14) + num(15) + num(16) + num(17), rssBytes: num(24) * PAGE }
  } catch {
    return null
  }
}

/** CPU seconds and resident memory of every live process in a process group (Linux /proc). */
export async function sampleGroup(pgid: number): Promise<{ cpuSeconds: number; rss: number } | null> {
  let entries: string[]
  try {
    entries = await readdir('/proc')
  } catch {
    return null // not Linux
  }
  let ticks = 0
  let rss = 0
  let any = false
  for (const name of entries) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue
    const s = await readStat(name)
    if (!s || s.pgid !== pgid) continue
    any = true
    ticks += s.ticks
    rss += s.rssBytes
  }
  return any ? { cpuSeconds: ticks / TICKS, rss } : null
}

/** Delay of the first sample, ms: the process is gone when the task ends, so a task shorter than a period must be seen early. */
const FIRST_SAMPLE_MS = 100

/**
 * Samples a task's process group and reports totals: CPU seconds (the most seen, since
 * processes that exit take theirs away) and peak RSS. The first sample comes after 100 ms and
 * the delay doubles up to `periodMs`: a short task is measured too, a long one costs one
 * sample a period.
 */
export class UsageSampler {
  private timer: NodeJS.Timeout | null = null
  private totals: Usage = { cpuSeconds: 0, maxRss: 0 }
  /** Whether any sample saw the process group (a task shorter than a period has none). */
  sampled = false

  constructor(
    private readonly pgid: number,
    private readonly periodMs: number,
    private readonly report: (usage: Usage) => void,
  ) {}

  start(): void {
    this.schedule(Math.min(FIRST_SAMPLE_MS, this.periodMs))
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => {
      void this.sample().then(() => {
        if (this.timer !== null) this.schedule(Math.min(delay * 2, this.periodMs))
      })
    }, delay)
    this.timer.unref()
  }

  async sample(): Promise<Usage> {
    const now = await sampleGroup(this.pgid)
    if (now) {
      this.sampled = true
      this.totals = { cpuSeconds: Math.max(this.totals.cpuSeconds, now.cpuSeconds), maxRss: Math.max(this.totals.maxRss, now.rss) }
      this.report(this.totals)
    }
    return this.totals
  }

  stop(): Usage {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    return this.totals
  }
}
