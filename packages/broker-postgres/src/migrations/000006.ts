/**
 * Migration 6: the claim functions plan no sequential scan either (as `finish` since migration
 * 5). Before ANALYZE, with 100,000 waiting tasks, a claim could join the claimed ids to the
 * whole table instead of probing its primary key: every statement here finds rows by key or
 * through the ready and delayed indexes.
 */
export const sql = `
ALTER FUNCTION :SCHEMA.claim_top(text, integer, bigint, bigint) SET enable_seqscan = off;
ALTER FUNCTION :SCHEMA.promote(bigint) SET enable_seqscan = off;
ALTER FUNCTION :SCHEMA.next_run_at(bigint, bigint[]) SET enable_seqscan = off;
ALTER FUNCTION :SCHEMA.unclaim(text, bigint[], integer[], bigint[], text[]) SET enable_seqscan = off;
`
