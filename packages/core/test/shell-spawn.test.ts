// The shell pattern over the spawner processes (patterns/spawner.ts): output files, signals,
// and a kill that arrives while the command is still starting. In a file of its own: the first
// command of a process waits for a spawner to boot, which opens that window wide.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryBroker } from '@aque/broker-memory'
import { describe, expect, it } from 'vitest'
import { CommandError, Queue, Worker } from '../src/index.js'

describe('shell pattern through the spawner', () => {
  it('kills a command killed while it was starting, once its group exists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aque-shell-'))
    const broker = new MemoryBroker()
    const queue = new Queue({ broker })
    const worker = new Worker(broker, { pollMs: 50 })
    const marker = join(dir, 'ran-on')
    const slow = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', `sleep 1; touch ${marker}`] })
    let pidWhenKilled: number | null | undefined
    // Killed as soon as the worker runs it: its spawner is still booting, so no pid yet.
    const killWhenStarted = () => {
      if (!worker.runningIds.includes(slow.id)) return void setImmediate(killWhenStarted)
      pidWhenKilled = worker.pidOf(slow.id)
      void slow.cancel()
    }
    setImmediate(killWhenStarted)
    await worker.runToEnd()
    expect(pidWhenKilled).toBe(null)
    expect(await slow.status()).toBe('killed')
    await new Promise((r) => setTimeout(r, 1500))
    expect(() => readFileSync(marker)).toThrow()
  })

  it.skipIf(process.getuid?.() !== 0)("runs as the task's user and group on a root worker", async () => {
    const broker = new MemoryBroker()
    const queue = new Queue({ broker })
    const worker = new Worker(broker, { pollMs: 50 })
    // nobody's ids differ between systems; its primary group is given by number.
    const ids = execFileSync('sh', ['-c', 'id -u nobody; id -g nobody']).toString()
    const gid = ids.split('\n')[1] as string
    const f = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', 'id -u; id -g'], user: 'nobody', group: gid, cwd: '/' })
    await worker.runToEnd()
    expect(await f.result()).toBe(0)
    const out = (await broker.getOutput([f.id])).filter((c) => c.stream === 'stdout')
    expect(Buffer.concat(out.map((c) => c.data)).toString()).toBe(ids)
  })

  it('writes stdoutPath/stderrPath besides the output chunks, and reports a signal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aque-shell-'))
    const broker = new MemoryBroker()
    const queue = new Queue({ broker })
    const worker = new Worker(broker, { pollMs: 50 })
    const files = await queue.submitEx({
      pattern: 'shell',
      args: ['sh', '-c', 'printf out; printf err >&2'],
      stdoutPath: join(dir, 'out'),
      stderrPath: join(dir, 'err'),
    })
    const signalled = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', 'kill -TERM $$'] })
    await worker.runToEnd()
    expect(await files.result()).toBe(0)
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('out')
    expect(readFileSync(join(dir, 'err'), 'utf8')).toBe('err')
    const chunks = await broker.getOutput([files.id])
    expect(chunks.map((c) => [c.stream, Buffer.from(c.data).toString()]).sort()).toEqual([
      ['stderr', 'err'],
      ['stdout', 'out'],
    ])
    const err = await signalled.exception()
    expect(err).toBeInstanceOf(CommandError)
    expect((err as CommandError).signal).toBe('SIGTERM')
  })
})
