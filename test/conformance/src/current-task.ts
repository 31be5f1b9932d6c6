import { mkdtemp, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AqueError, Queue, currentTask, decode } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, reassemble, runAll } from './helpers.js'
import { introspect, spawnChild, writeLog } from './tasks.js'

/** What a task's own code sees through currentTask(). */
export function currentTaskSuite({ t, broker }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('currentTask()', () => {
    it('gives the running task its id and stored prototype', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submitEx({ func: introspect, priority: 1234 })
      await runAll(broker())
      expect(await future.result({ timeout: WAIT })).toMatchObject({ id: future.id, parent: null, priority: 1234, cwd: process.cwd() })
    })

    it('log() appends records to the log stream', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submit(writeLog, 'alpha', 'beta')
      await runAll(broker())
      expect(await future.result({ timeout: WAIT })).toBe(2)
      const text = reassemble(await broker().getOutput([future.id]), 'log').toString()
      const lines = text.split('\n').filter(Boolean)
      expect(lines).toHaveLength(2)
      const records = lines.map((line) => decode(line) as { time: number; values: unknown[] })
      expect(records.map((r) => r.values)).toEqual([
        ['alpha', { line: 'alpha' }],
        ['beta', { line: 'beta' }],
      ])
      for (const r of records) expect(typeof r.time).toBe('number')
    })

    it('submit() makes a child: parent set, priority, cwd and environ inherited', async () => {
      const dir = await realpath(await mkdtemp(join(tmpdir(), 'aque-child-')))
      try {
        const queue = new Queue({ broker: broker() })
        const parent = await queue.submitEx({ func: spawnChild, priority: 5, cwd: dir, environ: { STAGE: 'comp' } })
        await runAll(broker())
        const childId = (await parent.result({ timeout: WAIT })) as number
        expect(childId).toBeGreaterThan(parent.id)
        const child = await queue.future(childId)
        expect(await child.result({ timeout: WAIT })).toEqual({ id: childId, parent: parent.id, priority: 5, cwd: dir, environ: { STAGE: 'comp' } })
        expect((await child.task()).parent).toBe(parent.id)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('throws outside a running task', () => {
      expect(() => currentTask()).toThrow(AqueError)
    })
  })
}
