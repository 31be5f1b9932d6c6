/**
 * The suite checked against itself: brokers with one planted fault each must fail the tests
 * that cover that fault, while the sound memory broker passes the same tests. A suite that
 * cannot fail proves nothing.
 */
import { MemoryBroker } from '@aque/broker-memory'
import { runConformance } from '@aque/conformance'
import type { Changes, ClaimRequest, LeaseRef, Outcome, OutputChunk, OutputInput, SearchFilter, TaskField, TaskRecord } from '@aque/core'
import { describe, expect, it } from 'vitest'

type Body = () => Promise<void> | void

/** Collects the suite's tests instead of registering them, so that this file runs chosen ones. */
function collect(create: () => MemoryBroker): Map<string, () => Promise<void>> {
  const tests = new Map<string, () => Promise<void>>()
  const before: Body[] = []
  const after: Body[] = []
  runConformance(
    {
      describe: (_name, body) => body(),
      it: (name, body) => {
        tests.set(name, async () => {
          for (const hook of before) await hook()
          try {
            await body()
          } finally {
            for (const hook of after) await hook()
          }
        })
      },
      beforeEach: (body) => before.push(body),
      afterEach: (body) => after.push(body),
      expect,
    },
    { name: 'faulty', create: async () => create() },
  )
  return tests
}

async function outcome(tests: Map<string, () => Promise<void>>, name: string): Promise<'pass' | 'fail'> {
  const test = tests.get(name)
  if (!test) throw new Error(`no test named "${name}" in the suite`)
  return test().then(
    () => 'pass',
    () => 'fail',
  )
}

/** Records a lost lease's result anyway: no fencing by attempt. */
class Unfenced extends MemoryBroker {
  override _finish(id: number, _attempt: number | null, result: Outcome, now: number) {
    return super._finish(id, null, result, now)
  }
}
/** Never reports a lost lease. */
class BlindHeartbeat extends MemoryBroker {
  override async _heartbeat(_worker: string, _leases: LeaseRef[]): Promise<number[]> {
    return []
  }
}
/** Takes leases back an hour early. */
class ReapsEarly extends MemoryBroker {
  override _reapExpired(now: number): Promise<Changes> {
    return super._reapExpired(now + 3_600_000)
  }
}
/** Delivers custom events without their payload. */
class EmptiesCustomEvents extends MemoryBroker {
  override async _publish(event: string, payload: unknown): Promise<void> {
    await super._publish(event, event === 'task_status' || event === 'new_work' ? payload : {})
  }
}
/** Stores each output chunk twice. */
class DoublesOutput extends MemoryBroker {
  override async _appendOutput(id: number, chunks: OutputInput[]): Promise<OutputChunk[]> {
    return super._appendOutput(id, [...chunks, ...chunks])
  }
}
/** Returns every field whatever was asked. */
class IgnoresFields extends MemoryBroker {
  override _fetch(ids: number[], _fields: TaskField[] | null): Promise<Map<number, Partial<TaskRecord>>> {
    return super._fetch(ids, null)
  }
}
/** Records every failure as a success. */
class ErrorsAsSuccess extends MemoryBroker {
  override _finish(id: number, attempt: number | null, result: Outcome, now: number) {
    return super._finish(id, attempt, result.status === 'success' ? result : { status: 'success', result: 'null' }, now)
  }
}

/** Passes over the first candidate of every claim: not dispatch order any more. */
class SkipsFirstCandidate extends MemoryBroker {
  override _claim(request: ClaimRequest) {
    let first = true
    const accept = request.accept
    return super._claim({
      ...request,
      accept: (task) => {
        if (first) {
          first = false
          return false
        }
        return accept ? accept(task) : true
      },
    })
  }
}
/** Ignores every search filter but the paging cursor. */
class UnfilteredSearch extends MemoryBroker {
  override _search(filter: SearchFilter, limit: number, fields: TaskField[] | null) {
    return super._search({ afterId: filter.afterId }, limit, fields)
  }
}

// Faults chosen so that each shows as a wrong value at once, not as a wait running out.
const cases: Array<[string, () => MemoryBroker, string[]]> = [
  ['finish without fencing', () => new Unfenced(), ['a running task lost by reaping is claimed again with a higher attempt, and only that attempt may finish']],
  [
    'heartbeat blind to lost leases',
    () => new BlindHeartbeat(),
    [
      'heartbeat reports lost leases: wrong attempt, unknown task, completed task',
      'a worker whose lease ran out loses the task to another and cannot record a result afterwards',
    ],
  ],
  ['leases reaped before they end', () => new ReapsEarly(), ['heartbeat keeps a lease alive']],
  ['custom event payloads lost', () => new EmptiesCustomEvents(), ['emit() of a custom event reaches listeners on this broker and on a peer']],
  [
    'output stored twice',
    () => new DoublesOutput(),
    ["a shell task's stdout and stderr are stored as chunks", 'appendOutput assigns seq and per-stream offsets; getOutput reads from a seq on'],
  ],
  [
    'claims out of dispatch order',
    () => new SkipsFirstCandidate(),
    ['ready tasks run by priority (higher first), then duration hint (longer first), then lower id', 'a diamond runs d, b, c, then a'],
  ],
  ['search filters ignored', () => new UnfilteredSearch(), ['search filters by status, parent and user']],
  ['fetch ignores fields', () => new IgnoresFields(), ['fetch returns decoded tasks, only the fields asked (and id); unknown ids are absent']],
  [
    'errors recorded as successes',
    () => new ErrorsAsSuccess(),
    ['a failed dependency fails its transitive dependents with DependencyFailedError naming it', 'a task that exhausts its retries ends in error with its last error'],
  ],
]

describe('the conformance suite catches planted faults', () => {
  const sound = collect(() => new MemoryBroker())
  for (const [fault, make, names] of cases) {
    it(`${fault}: the covering tests fail, and pass on the sound broker`, async () => {
      const faulty = collect(make)
      for (const name of names) {
        expect(await outcome(sound, name), `sound broker: ${name}`).toBe('pass')
        expect(await outcome(faulty, name), `${fault}: ${name}`).toBe('fail')
      }
    }, 60_000)
  }
})
