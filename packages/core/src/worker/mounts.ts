import { readFileSync, realpathSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'

/**
 * File system types whose data travels over the network. FUSE file systems show as
 * `fuse.<name>`; those listed are remote ones (sshfs, s3fs, rclone…).
 */
const NETWORK_TYPES = new Set([
  '9p',
  'afs',
  'beegfs',
  'ceph',
  'cifs',
  'coda',
  'davfs',
  'glusterfs',
  'gpfs',
  'lustre',
  'ncpfs',
  'nfs',
  'nfs4',
  'ocfs2',
  'orangefs',
  'smb3',
  'smbfs',
  'fuse.ceph',
  'fuse.cephfs',
  'fuse.gcsfuse',
  'fuse.glusterfs',
  'fuse.juicefs',
  'fuse.rclone',
  'fuse.s3fs',
  'fuse.sshfs',
  'fuse.davfs2',
  'fuse.goofys',
  'fuse.mfs',
  'fuse.moosefs',
  'fuse.lizardfs',
  'fuse.seaweedfs',
  'fuse.sshfs-fuse',
])

export interface Mount {
  /** Where it is mounted (escapes such as `\040` decoded). */
  point: string
  type: string
  source: string
  network: boolean
}

/** Whether a file system is remote: by its type, or by a source written `host:/path` or `//host/share`. */
export function isNetworkMount(type: string, source: string): boolean {
  return NETWORK_TYPES.has(type) || /^[^/\s]+:\//.test(source) || source.startsWith('//')
}

/** Mounts listed in the text of /proc/<pid>/mountinfo (see proc(5)). Lines it cannot read are skipped. */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = []
  for (const line of text.split('\n')) {
    const fields = line.split(' ')
    const dash = fields.indexOf('-', 6)
    const point = fields[4]
    const type = fields[dash + 1]
    if (dash < 0 || point === undefined || type === undefined) continue
    const source = decodeOctal(fields[dash + 2] ?? '')
    mounts.push({ point: decodeOctal(point), type, source, network: isNetworkMount(type, source) })
  }
  return mounts
}

function decodeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
}

/** The mount that holds `path`: the longest mount point that is a prefix of it (the last one mounted wins a tie). */
export function mountOf(path: string, mounts: readonly Mount[]): Mount | null {
  let best: Mount | null = null
  for (const m of mounts) {
    const inside = m.point === '/' || path === m.point || path.startsWith(`${m.point}/`)
    if (inside && (best === null || m.point.length >= best.point.length)) best = m
  }
  return best
}

/**
 * Tells whether paths sit on network mounts, from this process's mount table (re-read every
 * `refreshMs`, mounts come and go) and each path's real location (symlinks followed; a path
 * that does not exist yet is judged as written). Answers are cached per path until the table
 * is read again.
 */
export class MountTable {
  private mounts: Mount[] = []
  private readAt = Number.NEGATIVE_INFINITY
  private readonly cache = new Map<string, boolean>()

  constructor(
    private readonly refreshMs = 60_000,
    private readonly source: () => string = () => readFileSync('/proc/self/mountinfo', 'utf8'),
  ) {}

  /** Whether `path` (absolute, or relative to `cwd`) is on a network mount. False when it cannot tell. */
  isNetwork(path: string, cwd: string | null = null): boolean {
    this.refresh()
    const absolute = isAbsolute(path) ? path : resolve(cwd ?? process.cwd(), path)
    let answer = this.cache.get(absolute)
    if (answer === undefined) {
      answer = mountOf(realPath(absolute), this.mounts)?.network ?? false
      if (this.cache.size >= 10_000) this.cache.clear()
      this.cache.set(absolute, answer)
    }
    return answer
  }

  private refresh(): void {
    const now = Date.now()
    if (now - this.readAt < this.refreshMs) return
    this.readAt = now
    this.cache.clear()
    try {
      this.mounts = parseMountinfo(this.source())
    } catch {
      this.mounts = [] // no /proc (not Linux): every path counts as local
    }
  }
}

function realPath(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}
