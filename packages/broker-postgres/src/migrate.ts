import { AqueError } from '@aque/core'
import type { Pool } from 'pg'
import { checkout } from './checkout.js'
import { MIGRATIONS } from './migrations/index.js'

/** The schema was migrated by a newer version of this package. */
export class SchemaTooNewError extends AqueError {
  override readonly code: string = 'AQUE_POSTGRES_SCHEMA_TOO_NEW'
}

/** Double-quoted identifier (names are validated to letters, digits and underscores). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

/** The NOTIFY channel of a queue. */
export function channelOf(schema: string): string {
  return `aque:${schema}`
}

/** The SQL of a migration for one schema. */
export function migrationSql(text: string, schema: string): string {
  return text.replaceAll(':SCHEMA', quoteIdent(schema)).replaceAll(':CHANNEL', channelOf(schema))
}

/**
 * Applies the migrations that `schema` lacks, in one transaction. A transaction-scoped advisory
 * lock keyed by the schema serialises concurrent migrators: the second waits, then finds
 * everything applied and does nothing.
 */
export async function migrate(pool: Pool, schema: string): Promise<void> {
  const q = quoteIdent(schema)
  const { client, release } = await checkout(pool)
  let failed = false
  try {
    await client.query('BEGIN')
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`aque.migrate.${schema}`])
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`)
    await client.query(`CREATE TABLE IF NOT EXISTS ${q}.migrations (id integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
    const { rows } = await client.query<{ id: number }>(`SELECT id FROM ${q}.migrations ORDER BY id`)
    const applied = new Set(rows.map((r) => Number(r.id)))
    const newest = Math.max(0, ...applied)
    if (newest > MIGRATIONS.length) {
      throw new SchemaTooNewError(`schema ${schema} is at migration ${newest}, newer than this @aque/broker-postgres knows (${MIGRATIONS.length}): upgrade it`)
    }
    for (const [i, text] of MIGRATIONS.entries()) {
      if (applied.has(i + 1)) continue
      await client.query(migrationSql(text, schema))
      await client.query(`INSERT INTO ${q}.migrations (id) VALUES ($1)`, [i + 1])
    }
    await client.query('COMMIT')
  } catch (err) {
    failed = true
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    release(failed)
  }
}
