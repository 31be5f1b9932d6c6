import type { OutputChunk, OutputInput } from '@aque/core'
import type { Queryable } from './queryable.js'

/**
 * Output chunks: one INSERT per call, `seq` and per-stream offsets assigned atomically by an
 * upsert of the task's head row (which serialises concurrent writers of one task).
 */
export async function appendOutput(db: Queryable, s: string, id: number, chunks: OutputInput[]): Promise<OutputChunk[]> {
  const totals: Record<string, number> = {}
  const rel: number[] = []
  for (const c of chunks) {
    const at = totals[c.stream] ?? 0
    rel.push(at)
    totals[c.stream] = at + c.data.byteLength
  }
  const { rows } = await db.query<{ base: number; offsets: Record<string, number> }>(
    `WITH head AS (
       INSERT INTO ${s}.output_heads AS h (task_id, next_seq, offsets) VALUES ($1, $2, $3::jsonb)
       ON CONFLICT (task_id) DO UPDATE SET next_seq = h.next_seq + EXCLUDED.next_seq,
         offsets = (SELECT jsonb_object_agg(k, coalesce((h.offsets->>k)::bigint, 0) + coalesce((EXCLUDED.offsets->>k)::bigint, 0))
                    FROM jsonb_object_keys(h.offsets || EXCLUDED.offsets) k)
       RETURNING next_seq - $2 AS base, offsets
     ), ins AS (
       INSERT INTO ${s}.output (task_id, seq, stream, "offset", data, time)
       SELECT $1, head.base + c.ord - 1, c.stream, (head.offsets->>c.stream)::bigint - ($3::jsonb->>c.stream)::bigint + c.rel, c.data, c.time
       FROM head, unnest($4::text[], $5::bytea[], $6::bigint[], $7::bigint[]) WITH ORDINALITY AS c(stream, data, time, rel, ord)
     )
     SELECT base, offsets FROM head`,
    [id, chunks.length, JSON.stringify(totals), chunks.map((c) => c.stream), chunks.map((c) => Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength)), chunks.map((c) => c.time), rel],
  )
  const head = rows[0] as { base: number; offsets: Record<string, number> }
  return chunks.map((c, i) => ({
    id,
    seq: head.base + i,
    stream: c.stream,
    offset: Number(head.offsets[c.stream]) - (totals[c.stream] as number) + (rel[i] as number),
    data: new Uint8Array(c.data),
    time: c.time,
  }))
}

interface ChunkRow {
  task_id: number
  seq: number
  stream: string
  offset: number
  data: Buffer
  time: number
}

/** Chunks of these tasks from `since` on, by task (in the order asked) then seq. */
export async function getOutput(db: Queryable, s: string, ids: number[], since: number): Promise<OutputChunk[]> {
  const { rows } = await db.query<ChunkRow>(
    `SELECT task_id, seq, stream, "offset", data, time FROM ${s}.output
     WHERE task_id = ANY($1::bigint[]) AND seq >= $2 ORDER BY array_position($1::bigint[], task_id), seq`,
    [ids, since],
  )
  return rows.map((r) => ({ id: r.task_id, seq: r.seq, stream: r.stream, offset: r.offset, data: new Uint8Array(r.data), time: r.time }))
}

/** The bytes of one chunk, for an output event too big to carry them. */
export async function chunkData(db: Queryable, s: string, id: number, stream: string, offset: number): Promise<Uint8Array | null> {
  const { rows } = await db.query<{ data: Buffer }>(`SELECT data FROM ${s}.output WHERE task_id = $1 AND stream = $2 AND "offset" = $3 ORDER BY seq LIMIT 1`, [
    id,
    stream,
    offset,
  ])
  return rows[0] ? new Uint8Array(rows[0].data) : null
}
