import { type Outcome, dependencyFailedText } from '@aque/core'
import { intArrayLiteral, textArrayLiteral } from './array-literal.js'

/** One run's end, as the broker batches them. */
export interface FinishItem {
  id: number
  attempt: number | null
  outcome: Outcome
  now: number
}

/** A batch of finishes as one SQL function call, to select alone or joined to a claim. */
export interface FinishCall {
  /** Name prefix of the prepared statements that make this call. */
  name: string
  /** The call, with parameters $1…$n. */
  expr: string
  values: unknown[]
  /** Whether each item applied, in order, from the value the call returned. */
  applied(value: unknown): boolean[]
}

/**
 * The call that records `items`. The usual batch (every run succeeded, no id twice) goes to
 * the lean `finish_success`, or `finish_one` for a single success (no arrays to read), both
 * returning the ids they applied to; any other batch to the general `finish`, which returns
 * one flag per entry.
 * @param s the quoted schema
 */
export function finishCall(s: string, items: FinishItem[]): FinishCall {
  const ids = items.map((i) => i.id)
  const [only] = items
  if (items.length === 1 && only?.outcome.status === 'success') {
    return {
      name: 'finish-one',
      expr: `${s}.finish_one($1, $2, $3, $4)`,
      values: [only.id, only.attempt, only.outcome.result, only.now],
      applied: (value) => [(value as number[] | null)?.[0] === only.id],
    }
  }
  if (items.every((i) => i.outcome.status === 'success') && new Set(ids).size === ids.length) {
    return {
      name: 'finish-success',
      expr: `${s}.finish_success($1, $2, $3, $4)`,
      values: [
        intArrayLiteral(ids),
        intArrayLiteral(items.map((i) => i.attempt)),
        textArrayLiteral(items.map((i) => (i.outcome.status === 'success' ? i.outcome.result : null))),
        intArrayLiteral(items.map((i) => i.now)),
      ],
      applied(value) {
        const done = new Set(value as number[])
        return ids.map((id) => done.has(id))
      },
    }
  }
  return {
    name: 'finish',
    expr: `${s}.finish($1, $2, $3, $4, $5, $6, $7)`,
    values: [
      ids,
      items.map((i) => i.attempt),
      items.map((i) => i.outcome.status),
      items.map((i) => (i.outcome.status === 'success' ? i.outcome.result : i.outcome.error)),
      items.map((i) => (i.outcome.status === 'error' ? (i.outcome.retryAt ?? null) : null)),
      items.map((i) => i.now),
      items.map((i) => (i.outcome.status === 'success' ? null : dependencyFailedText(i.id, i.outcome.status))),
    ],
    applied: (value) => (value as boolean[] | null) ?? [],
  }
}
