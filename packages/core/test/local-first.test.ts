// Local disks first: which paths sit on network mounts (from mountinfo), and the claim order of
// a worker with `localFirst`: local tasks before network ones at equal priority, priority first.
import { MemoryBroker } from '@aque/broker-memory'
import { describe, expect, it } from 'vitest'
import { Queue, Worker } from '../src/index.js'
import { LocalFirst } from '../src/worker/local-first.js'
import { MountTable, mountOf, parseMountinfo } from '../src/worker/mounts.js'

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '23 22 0:40 / /mnt/net rw,relatime shared:2 - nfs4 filer:/export/shots rw,vers=4.2',
  '24 22 0:41 / /mnt/net2 rw,relatime - ext4 /dev/sdb1 rw',
  '25 22 0:42 / /home/ana/remote rw,nosuid - fuse.sshfs ana@render01:/srv rw,user_id=1000',
  '26 22 0:43 / /mnt/my\\040share rw - cifs //nas/share rw',
  '27 23 8:17 / /mnt/net/scratch rw - xfs /dev/sdc1 rw',
  '28 22 0:44 / /mnt/legacy rw - fuse.unknownfs host:/vol rw',
  'garbage line',
].join('\n')

describe('mount table', () => {
  it('reads mountinfo: types, escaped mount points, and network file systems by type or source', () => {
    const mounts = parseMountinfo(MOUNTINFO)
    expect(mounts.map((m) => [m.point, m.type, m.network])).toEqual([
      ['/', 'ext4', false],
      ['/mnt/net', 'nfs4', true],
      ['/mnt/net2', 'ext4', false],
      ['/home/ana/remote', 'fuse.sshfs', true],
      ['/mnt/my share', 'cifs', true],
      ['/mnt/net/scratch', 'xfs', false],
      // An unknown FUSE type whose source is host:/path is remote too.
      ['/mnt/legacy', 'fuse.unknownfs', true],
    ])
  })

  it('finds the mount of a path by its longest mount point, on path boundaries', () => {
    const mounts = parseMountinfo(MOUNTINFO)
    expect(mountOf('/mnt/net/sh010/plate.exr', mounts)?.point).toBe('/mnt/net')
    expect(mountOf('/mnt/net2/a', mounts)?.point).toBe('/mnt/net2')
    expect(mountOf('/mnt/network', mounts)?.point).toBe('/')
    expect(mountOf('/mnt/net/scratch/tmp.bin', mounts)?.point).toBe('/mnt/net/scratch')
    expect(mountOf('/mnt/net', mounts)?.point).toBe('/mnt/net')
  })

  it('answers per path, relative ones against the cwd, and counts everything local without a table', () => {
    const table = new MountTable(60_000, () => MOUNTINFO)
    expect(table.isNetwork('/mnt/net/a.exr')).toBe(true)
    expect(table.isNetwork('/mnt/net/scratch/a.exr')).toBe(false)
    expect(table.isNetwork('plate.exr', '/home/ana/remote/sh010')).toBe(true)
    expect(table.isNetwork('/mnt/my share/x')).toBe(true)
    expect(table.isNetwork('/tmp/x')).toBe(false)
    const none = new MountTable(60_000, () => {
      throw new Error('no /proc')
    })
    expect(none.isNetwork('/mnt/net/a.exr')).toBe(false)
  })
})

describe('local disks first', () => {
  const table = new MountTable(60_000, () => MOUNTINFO)

  it('claims local tasks before network ones of equal priority, and never before a higher priority', async () => {
    const broker = new MemoryBroker()
    const queue = new Queue({ broker })
    const shell = (path: string, priority = 1000) => ({ pattern: 'shell', args: ['cat', path], ioPaths: [path], priority })
    const [netHigh, net1, local1, plain, net2, local2, localLow] = await queue.submitMany([
      shell('/mnt/net/high.exr', 2000),
      shell('/mnt/net/a.exr'),
      shell('/data/a.exr'),
      { func: () => 1 },
      shell('/home/ana/remote/b.exr'),
      shell('/mnt/net/scratch/b.exr'),
      shell('/data/low.exr', 10),
    ])
    const localFirst = new LocalFirst(table)
    const order: number[] = []
    for (;;) {
      const { tasks } = await localFirst.claim(broker, { worker: 'w', limit: 1, leaseMs: 30_000 }, () => true)
      if (tasks.length === 0) break
      order.push(...tasks.map((t) => t.id))
    }
    expect(order).toEqual([netHigh, local1, plain, local2, net1, net2, localLow].map((f) => f?.id))
  })

  it('fills a claim of several with local tasks first, then the rest in dispatch order', async () => {
    const broker = new MemoryBroker()
    const queue = new Queue({ broker })
    const shell = (path: string, priority = 1000) => ({ pattern: 'shell', args: ['cat', path], ioPaths: [path], priority })
    const [net1, local1, net2, low] = await queue.submitMany([shell('/mnt/net/a'), shell('/data/a'), shell('/mnt/my share/b'), shell('/data/c', 1)])
    const localFirst = new LocalFirst(table)
    const { tasks } = await localFirst.claim(broker, { worker: 'w', limit: 3, leaseMs: 30_000 }, () => true)
    expect(tasks.map((t) => t.id)).toEqual([local1, net1, net2].map((f) => f?.id))
    const rest = await localFirst.claim(broker, { worker: 'w', limit: 3, leaseMs: 30_000 }, () => true)
    expect(rest.tasks.map((t) => t.id)).toEqual([low?.id])
  })

  it('is a worker option that runs everything as usual when no path is on the network', async () => {
    const broker = new MemoryBroker()
    const queue = new Queue({ broker })
    const futures = await queue.submitMany([1, 2, 3].map((n) => ({ func: (x: number) => x * 2, args: [n] })))
    const worker = new Worker(broker, { localFirst: true, pollMs: 50 })
    expect(await worker.runToEnd()).toBe(3)
    expect(await Promise.all(futures.map((f) => f.result()))).toEqual([2, 4, 6])
  })
})
