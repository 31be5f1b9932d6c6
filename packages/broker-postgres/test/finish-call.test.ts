/**
 * Which SQL function records a batch of finishes (no server needed): a single success goes to
 * `finish_one`, a batch of distinct successes to `finish_success`, anything else to `finish`;
 * each maps the function's answer back to one flag per entry.
 */
import { encode } from '@aque/core'
import { describe, expect, it } from 'vitest'
import { type FinishItem, finishCall } from '../src/finish-call.js'

const success = (id: number, attempt: number | null = 1): FinishItem => ({ id, attempt, outcome: { status: 'success', result: encode(id) }, now: 5 })
const failure = (id: number): FinishItem => ({ id, attempt: 1, outcome: { status: 'error', error: encode(new Error('x')) }, now: 5 })

describe('finishCall', () => {
  it('a single success goes to finish_one, which answers with the ids it applied to', () => {
    const call = finishCall('"s"', [success(7, null)])
    expect(call.expr).toBe('"s".finish_one($1, $2, $3, $4)')
    expect(call.values).toEqual([7, null, encode(7), 5])
    expect(call.applied([7])).toEqual([true])
    expect(call.applied([])).toEqual([false])
    expect(call.applied(null)).toEqual([false])
  })

  it('distinct successes go to finish_success; a repeated id or an error to finish', () => {
    const batch = finishCall('"s"', [success(1), success(2)])
    expect(batch.expr).toBe('"s".finish_success($1, $2, $3, $4)')
    // Arrays go as literals (array-literal.ts; read back by the server in array-literal.postgres.test.ts).
    expect([batch.values[0], batch.values[1], batch.values[3]]).toEqual(['{1,2}', '{1,1}', '{5,5}'])
    expect(batch.applied([2])).toEqual([false, true])
    expect(finishCall('"s"', [success(1), success(1, 2)]).expr).toMatch(/\.finish\(/)
    expect(finishCall('"s"', [failure(3)]).expr).toMatch(/\.finish\(/)
    expect(finishCall('"s"', [success(1), failure(3)]).applied([true, false])).toEqual([true, false])
  })
})
