import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ExpectationError, Queue } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, reassemble, runAll } from './helpers.js'

async function inTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'aque-shell-io-'))
  try {
    return await body(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Shell tasks' streams and expectations, stored through the broker and run by a worker. */
export function shellSuite({ t, broker }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('shell tasks', () => {
    it('stdin, as text or as bytes, reaches the command unchanged', async () => {
      const queue = new Queue({ broker: broker() })
      const bytes = new Uint8Array([0, 255, 10, 128, 200, 1])
      const text = await queue.submitEx({ pattern: 'shell', args: ['cat'], stdin: 'line 1\nligne 2 é\n' })
      const binary = await queue.submitEx({ pattern: 'shell', args: ['cat'], stdin: bytes })
      await runAll(broker())
      expect(await text.result({ timeout: WAIT })).toBe(0)
      expect(await binary.result({ timeout: WAIT })).toBe(0)
      expect(reassemble(await broker().getOutput([text.id]), 'stdout').toString()).toBe('line 1\nligne 2 é\n')
      expect([...reassemble(await broker().getOutput([binary.id]), 'stdout')]).toEqual([...bytes])
    })

    it('stdoutPath and stderrPath get the streams, which are also stored as output', async () => {
      await inTempDir(async (dir) => {
        const queue = new Queue({ broker: broker() })
        const stdoutPath = join(dir, 'out.txt')
        const stderrPath = join(dir, 'err.txt')
        const future = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', 'echo to-out; echo to-err >&2'], stdoutPath, stderrPath })
        await runAll(broker())
        expect(await future.result({ timeout: WAIT })).toBe(0)
        expect(await readFile(stdoutPath, 'utf8')).toBe('to-out\n')
        expect(await readFile(stderrPath, 'utf8')).toBe('to-err\n')
        const chunks = await broker().getOutput([future.id])
        expect(reassemble(chunks, 'stdout').toString()).toBe('to-out\n')
        expect(reassemble(chunks, 'stderr').toString()).toBe('to-err\n')
      })
    })

    it('expects: a task that does not produce its files ends in ExpectationError', async () => {
      await inTempDir(async (dir) => {
        const queue = new Queue({ broker: broker() })
        const made = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', 'echo data > made.txt'], cwd: dir, expects: { files: ['made.txt'] } })
        const missing = await queue.submitEx({ pattern: 'shell', args: ['true'], cwd: dir, expects: { files: ['never.txt'] } })
        await runAll(broker())
        expect(await made.result({ timeout: WAIT })).toBe(0)
        expect(await missing.exception({ timeout: WAIT })).toBeInstanceOf(ExpectationError)
      })
    })
  })
}
