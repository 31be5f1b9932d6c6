import { randomBytes } from 'node:crypto'
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type OutputChunk, Queue } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, reassemble, runAll, withWorker, within } from './helpers.js'
import { square } from './tasks.js'

async function inTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'aque-output-'))
  try {
    return await body(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Output chunks: stored as they come, put back together exactly, followed live. */
export function outputSuite({ t, broker, peer }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('output', () => {
    it("a shell task's stdout and stderr are stored as chunks", async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', 'printf "out 1\\n"; printf "err 1\\n" >&2; printf "out 2\\n"'] })
      await runAll(broker())
      expect(await future.result({ timeout: WAIT })).toBe(0)
      const chunks = await broker().getOutput([future.id])
      expect(reassemble(chunks, 'stdout').toString()).toBe('out 1\nout 2\n')
      expect(reassemble(chunks, 'stderr').toString()).toBe('err 1\n')
      chunks.forEach((chunk, i) => {
        expect(chunk.id).toBe(future.id)
        expect(chunk.seq).toBe(i)
        expect(typeof chunk.time).toBe('number')
        expect(chunk.data).toBeInstanceOf(Uint8Array)
      })
    })

    it('reassembling a stream gives back exactly the bytes written, binary included', async () => {
      await inTempDir(async (dir) => {
        const bytes = randomBytes(300_000)
        const file = join(dir, 'random.bin')
        await writeFile(file, bytes)
        const queue = new Queue({ broker: broker() })
        const big = await queue.submitEx({ pattern: 'shell', args: ['cat', file] })
        const odd = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', "printf '\\377\\376\\000\\001\\200abc\\303'"] })
        await runAll(broker())
        expect(await big.result({ timeout: WAIT })).toBe(0)
        expect(await odd.result({ timeout: WAIT })).toBe(0)
        const stored = reassemble(await (await peer()).getOutput([big.id]), 'stdout')
        expect(stored.length).toBe(bytes.length)
        expect(stored.equals(bytes)).toBe(true)
        const oddBytes = reassemble(await broker().getOutput([odd.id]), 'stdout')
        expect([...oddBytes]).toEqual([0xff, 0xfe, 0x00, 0x01, 0x80, 0x61, 0x62, 0x63, 0xc3])
      })
    })

    it('appendOutput assigns seq and per-stream offsets; getOutput reads from a seq on', async () => {
      const queue = new Queue({ broker: broker() })
      const [a, b] = await queue.submitMany([
        { func: square, args: [1] },
        { func: square, args: [2] },
      ])
      const aId = a?.id as number
      const bId = b?.id as number
      const enc = (s: string) => new TextEncoder().encode(s)
      const first = await broker().appendOutput(aId, [
        { stream: 'stdout', data: enc('abc'), time: 1 },
        { stream: 'stderr', data: enc('E'), time: 2 },
      ])
      expect(first.map((c) => [c.seq, c.stream, c.offset])).toEqual([
        [0, 'stdout', 0],
        [1, 'stderr', 0],
      ])
      const second = await (await peer()).appendOutput(aId, [{ stream: 'stdout', data: enc('de'), time: 3 }])
      expect(second.map((c) => [c.seq, c.stream, c.offset])).toEqual([[2, 'stdout', 3]])
      await broker().appendOutput(bId, [{ stream: 'log', data: enc('{}\n'), time: 4 }])
      const all = await broker().getOutput([aId, bId])
      expect(all.map((c) => [c.id, c.seq])).toEqual([
        [aId, 0],
        [aId, 1],
        [aId, 2],
        [bId, 0],
      ])
      expect(reassemble(all.filter((c) => c.id === aId), 'stdout').toString()).toBe('abcde')
      const since = await broker().getOutput([aId], { since: 1 })
      expect(since.map((c) => c.seq)).toEqual([1, 2])
      expect(Buffer.from(since[1]?.data ?? []).toString()).toBe('de')
      expect(await broker().getOutput([aId], { since: 3 })).toEqual([])
      expect(await broker().getOutput([999_999])).toEqual([])
    })

    it('future.output() yields the chunks live and ends when the task completes', async () => {
      await inTempDir(async (dir) => {
        const flag = join(dir, 'go')
        const queue = new Queue({ broker: broker() })
        // The task cannot end before the test has seen its first line: that line came live.
        const script = 'echo first; while [ ! -e "$1" ]; do sleep 0.02; done; echo second'
        const future = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', script, 'sh', flag] })
        const chunks: OutputChunk[] = await withWorker(await peer(), {}, async () =>
          within(
            (async () => {
              const seen: OutputChunk[] = []
              for await (const chunk of future.output()) {
                seen.push(chunk)
                if (reassemble(seen, 'stdout').toString() === 'first\n') await writeFile(flag, '')
              }
              return seen
            })(),
            'the output to end',
          ),
        )
        await access(flag)
        expect(reassemble(chunks, 'stdout').toString()).toBe('first\nsecond\n')
        expect(await future.status()).toBe('success')
        expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i))
      })
    })
  })
}
