/**
 * Migration 8: less server work per task on the claim and finish path.
 *
 * - `claim_top` claims in one statement: the locked top of the ready index is updated in the
 *   same statement that found it (it read the ids into an array, then looked each one up again
 *   by key to update it), and the 'running' message is sent from that statement too.
 * - `finish_success`: the usual batch (every run succeeded, no id twice; the broker checks
 *   both) in one UPDATE, without the per-entry bookkeeping of `finish`. It returns the ids it
 *   applied to, and the broker maps them back to the entries. Dependents are released as in
 *   `finish`, and the message carries the outcomes in one NOTIFY when they are small.
 * Same results and messages as before; `finish` stays for every other batch.
 */
export const sql = String.raw`
CREATE OR REPLACE FUNCTION :SCHEMA.claim_top(p_worker text, p_limit integer, p_lease bigint, p_now bigint) RETURNS SETOF :SCHEMA.tasks
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  v_marker :SCHEMA.tasks;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  PERFORM :SCHEMA.promote(p_now);
  -- c holds the rows as they were before the claim (started_at and reason are handed back
  -- unchanged if the worker refuses the task); n sends one message for the claimed ids.
  RETURN QUERY
  WITH c AS (
    SELECT id, started_at, reason FROM :SCHEMA.tasks
    WHERE status = 'pending' AND remaining = 0 AND wait_until IS NULL
    ORDER BY priority DESC, duration DESC, id
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED
  ), claimed AS (
    UPDATE :SCHEMA.tasks t
    SET status = 'running', attempt = t.attempt + 1, worker = p_worker, started_at = p_now,
        lease_until = p_now + p_lease, reason = NULL
    FROM c
    WHERE t.id = c.id
    RETURNING t.id, t.status, t.priority, t.duration, t.run_at, t.wait_until, t.remaining, t.attempt,
      t.retry_count, t.parent, t."user", t.failed_dependency, t.dependencies, t.worker, t.lease_until,
      t.created_at, c.started_at, t.finished_at, t.args, t.kwargs, t.stdin, t.extra, t.result, t.error,
      t.spec, t.progress, t.usage, c.reason
  ), n AS (
    SELECT :SCHEMA.notify_status(array_agg(id ORDER BY id), 'running') FROM claimed
  )
  SELECT claimed.* FROM claimed, n;
  IF NOT FOUND THEN
    v_marker.run_at := :SCHEMA.next_run_at(p_now, '{}');
    RETURN NEXT v_marker;
  END IF;
END
$$;

-- Records successes: p_ids distinct, each fenced by its attempt (null: any run not complete).
-- Returns the ids it applied to.
CREATE FUNCTION :SCHEMA.finish_success(p_ids bigint[], p_attempts integer[], p_texts text[], p_now bigint[]) RETURNS bigint[]
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  v_ids bigint[];
  v_texts text[];
  v_released boolean;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  WITH done AS (
    UPDATE :SCHEMA.tasks t
    SET status = 'success', result = u.text, error = NULL, finished_at = u.now, lease_until = NULL, wait_until = NULL
    FROM unnest(p_ids, p_attempts, p_texts, p_now) AS u(id, attempt, text, now)
    WHERE t.id = u.id
      AND CASE WHEN u.attempt IS NULL THEN t.status NOT IN ('success', 'error', 'killed')
               ELSE t.status IN ('running', 'suspended') AND t.attempt = u.attempt END
    RETURNING t.id, u.text
  )
  SELECT array_agg(id), array_agg(text) INTO v_ids, v_texts FROM done;
  IF v_ids IS NULL THEN
    RETURN '{}';
  END IF;
  -- One probe of deps by key per id, as in finish (migration 5): most tasks have no dependents.
  IF EXISTS (SELECT 1 FROM unnest(v_ids) AS x(id), LATERAL (SELECT 1 FROM :SCHEMA.deps d WHERE d.dependency = x.id LIMIT 1) l) THEN
    WITH released AS (
      UPDATE :SCHEMA.tasks t SET remaining = t.remaining - d.n
      FROM (SELECT dependent, count(*)::integer AS n FROM :SCHEMA.deps WHERE dependency = ANY(v_ids) GROUP BY dependent) d
      WHERE t.id = d.dependent AND t.status NOT IN ('success', 'error', 'killed')
      RETURNING t.remaining, t.status
    )
    SELECT coalesce(bool_or(remaining = 0 AND status = 'pending'), false) INTO v_released FROM released;
    IF v_released THEN PERFORM :SCHEMA.notify_new_work(); END IF;
  END IF;
  -- One message when it surely fits (a character takes at most 6 bytes in JSON, and an id and
  -- its punctuation under 24), else the general grouping of notify_outcomes.
  IF (SELECT sum(coalesce(octet_length(x), 0) * 6 + 48) FROM unnest(v_texts) x) <= 6000 THEN
    PERFORM pg_notify(':CHANNEL', 'task_status' || E'\n' || json_build_object(
      'ids', v_ids, 'status', 'success',
      'outcomes', (SELECT json_object_agg(i, x) FROM unnest(v_ids, v_texts) AS u(i, x) WHERE x IS NOT NULL AND octet_length(x) <= 1000))::text);
  ELSE
    PERFORM :SCHEMA.notify_outcomes(v_ids, v_texts, 'success');
  END IF;
  RETURN v_ids;
END
$$;
`
