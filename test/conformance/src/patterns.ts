import { mkdtemp, realpath, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CommandError, PatternMissingError, Queue, type TaskPrototype, execute } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, reassemble, runAll, uniqueToken } from './helpers.js'
import { AppError, add, echo, record, runsOf, square, throwAppError } from './tasks.js'

/** How tasks are run: generic, reduce, group, shell, app patterns, and execute(). */
export function patternsSuite({ t, broker }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('patterns', () => {
    it('a task naming a pattern no worker has fails with PatternMissingError', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submitEx({ pattern: 'conformance.no-such-pattern', args: [1] })
      await runAll(broker())
      await expect(future.result({ timeout: WAIT })).rejects.toBeInstanceOf(PatternMissingError)
    })

    it('an app pattern registered with registerPattern runs its tasks', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submitEx({ pattern: 'conformance.double', args: [21] })
      await runAll(broker())
      expect(await future.result({ timeout: WAIT })).toBe(42)
    })

    it('a pattern may return its value at once, or throw, without a promise', async () => {
      const queue = new Queue({ broker: broker() })
      const ok = await queue.submitEx({ pattern: 'conformance.syncTriple', args: [14] })
      const bad = await queue.submitEx({ pattern: 'conformance.syncTriple', args: ['no'] })
      await runAll(broker())
      expect(await ok.result({ timeout: WAIT })).toBe(42)
      const err = await bad.exception({ timeout: WAIT })
      expect(err).toBeInstanceOf(AppError)
      expect(err?.message).toBe('no')
    })

    it('kwargs are passed as a last argument', async () => {
      const queue = new Queue({ broker: broker() })
      const future = await queue.submitEx({ func: echo, args: [1, 'a'], kwargs: { size: 3 } })
      await runAll(broker())
      expect(await future.result({ timeout: WAIT })).toEqual([1, 'a', { size: 3 }])
    })

    it('a group (pattern null) succeeds after its dependencies, running nothing', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const group = await queue.submitEx({
        pattern: null,
        dependencies: [
          { func: record, args: [token, 1] },
          { func: record, args: [token, 2] },
        ],
      })
      await runAll(broker())
      expect(await group.result({ timeout: WAIT })).toBeNull()
      expect(runsOf(token)).toHaveLength(2)
    })

    it('a shell task succeeds with 0, fails with CommandError carrying the exit code, and sees its cwd, environ and AQUE_TID', async () => {
      const queue = new Queue({ broker: broker() })
      const dir = await mkdtemp(join(tmpdir(), 'aque-shell-'))
      try {
        const ok = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', 'printf "%s|%s|%s" "$(pwd -P)" "$AQUE_TID" "$GREETING"'], cwd: dir, environ: { GREETING: 'hi' } })
        const bad = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', 'exit 3'] })
        await runAll(broker())
        expect(await ok.result({ timeout: WAIT })).toBe(0)
        const out = reassemble(await broker().getOutput([ok.id]), 'stdout').toString()
        expect(out).toBe(`${await realpath(dir)}|${ok.id}|hi`)
        const err = await bad.exception({ timeout: WAIT })
        expect(err).toBeInstanceOf(CommandError)
        expect((err as CommandError).exitCode).toBe(3)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('execute() runs one task here and now', async () => {
      expect(await execute({ func: add, args: [2, 3] })).toBe(5)
      await expect(execute({ func: throwAppError, args: ['here'] })).rejects.toBeInstanceOf(AppError)
    })

    it('execute() runs a map-reduce: squares of 1..4 reduced by addition give 30', async () => {
      const squares = [1, 2, 3, 4].map((n): TaskPrototype => ({ func: square, args: [n] }))
      expect(await execute({ pattern: 'reduce', func: add, dependencies: squares })).toBe(30)
    })
  })
}
