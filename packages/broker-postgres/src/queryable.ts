import type { QueryResultRow } from 'pg'

/** What runs a statement: the broker's pool (with its retries) or a client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<{ rows: R[] }>
}
