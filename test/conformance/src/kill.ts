import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DependencyFailedError, Queue, type SignalEvent, TaskKilledError } from '@aque/core'
import type { SuiteContext } from './harness.js'
import { WAIT, eventually, nextEvent, runAll, uniqueToken, withWorker } from './helpers.js'
import { add, gate, gateStarted, openGate, square } from './tasks.js'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Kill: pending tasks at once, running ones by signal; dependents fail. */
export function killSuite({ t, broker, peer }: SuiteContext): void {
  const { describe, it, expect } = t
  describe('kill', () => {
    it('a pending task killed ends in killed and its dependents in error', async () => {
      const queue = new Queue({ broker: broker() })
      const victim = await queue.submit(square, 2)
      const dependent = await queue.submitEx({ func: add, args: [1, 1], dependencies: [victim] })
      const further = await queue.submitEx({ func: add, args: [1, 1], dependencies: [dependent] })
      await broker().kill([victim.id])
      expect(await victim.status()).toBe('killed')
      const err = await victim.exception({ timeout: WAIT })
      expect(err).toBeInstanceOf(TaskKilledError)
      await expect(victim.result({ timeout: WAIT })).rejects.toBeInstanceOf(TaskKilledError)
      for (const f of [dependent, further]) {
        const task = await f.task()
        expect(task.status).toBe('error')
        expect(task.failedDependency).toBe(victim.id)
        expect(task.error).toBeInstanceOf(DependencyFailedError)
        expect((task.error as DependencyFailedError).taskId).toBe(victim.id)
        expect((task.error as DependencyFailedError).dependencyStatus).toBe('killed')
      }
      expect(await runAll(broker())).toBe(0)
    })

    it('Future.cancel() kills a pending task; killing a complete task changes nothing', async () => {
      const queue = new Queue({ broker: broker() })
      const done = await queue.submit(square, 3)
      await runAll(broker())
      const pending = await queue.submit(square, 4)
      await pending.cancel()
      await done.cancel()
      expect(await pending.wait({ timeout: WAIT })).toBe('killed')
      expect(await done.result({ timeout: WAIT })).toBe(9)
    })

    it('a running task killed gets task_signal.<id> and ends killed', async () => {
      const queue = new Queue({ broker: broker() })
      const token = uniqueToken()
      const future = await queue.submit(gate, token)
      const worker = await peer()
      try {
        await withWorker(worker, {}, async () => {
          const id = await gateStarted(token)
          expect(id).toBe(future.id)
          const signalled = nextEvent<SignalEvent>(worker, `task_signal.${future.id}`)
          await broker().kill([future.id])
          expect(await signalled).toMatchObject({ id: future.id, signal: 'SIGTERM' })
          expect(await future.wait({ timeout: WAIT })).toBe('killed')
        })
      } finally {
        openGate(token)
      }
      await expect(future.result({ timeout: WAIT })).rejects.toBeInstanceOf(TaskKilledError)
      // The worker's own report of the aborted run does not overwrite the kill.
      expect(await future.status()).toBe('killed')
    })

    it('a running shell task killed ends quickly in killed, its process gone', async () => {
      const queue = new Queue({ broker: broker() })
      const dir = await mkdtemp(join(tmpdir(), 'aque-kill-'))
      const pidFile = join(dir, 'pid')
      try {
        const future = await queue.submitEx({ pattern: 'shell', args: ['sh', '-c', 'echo $$ > "$1"; exec sleep 30', 'sh', pidFile] })
        await withWorker(await peer(), {}, async () => {
          const pid = await eventually(async () => Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || undefined, 'the shell task to start')
          expect(await future.status()).toBe('running')
          await future.cancel()
          expect(await future.wait({ timeout: WAIT })).toBe('killed')
          await eventually(() => !alive(pid), 'the killed process to exit')
        })
        expect(await future.exception({ timeout: WAIT })).toBeInstanceOf(TaskKilledError)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    }, 20_000)
  })
}
