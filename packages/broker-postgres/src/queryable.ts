/** What runs a statement: the broker's pool (with its retries) or a client inside a transaction. */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>
}
