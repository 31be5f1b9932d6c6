/**
 * Migration 13: `finish_success` builds its messages from one numbered pass over the batch.
 * Migration 12 cut each message out of the batch's arrays by slice (`v_texts[v_from:v_to]`),
 * and PostgreSQL finds where a slice of a text array starts by walking the elements before
 * it: a big batch with long outcomes cost time quadratic in the batch (20,000 successes with
 * 1,000-byte outcomes: 11.6 s). The entries are now numbered once (`WITH ORDINALITY`) and
 * grouped k to a message, each group giving its message and, for the rare one that is still
 * over the limit, its ids and texts for `notify_outcomes`. Same messages, same results.
 */
export const sql = String.raw`
CREATE OR REPLACE FUNCTION :SCHEMA.finish_success(p_ids bigint[], p_attempts integer[], p_texts text[], p_now bigint[]) RETURNS bigint[]
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  v_ids bigint[];
  v_texts text[];
  v_released boolean;
  v_k integer;
  v_group record;
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
  -- Messages of k entries each, k from the longest outcome that rides along (up to 1000 bytes,
  -- as in notify_outcomes): an entry takes at most twice its text (JSON escapes a quote or a
  -- backslash in two bytes; codec text, itself JSON, holds no raw control character) plus 50
  -- for its id, twice, and punctuation. Each message is measured all the same, and one over the
  -- broker's payload limit (MAX_PAYLOAD, 7800, under PostgreSQL's 8000) goes through
  -- notify_outcomes.
  v_k := 7600 / (2 * coalesce((SELECT max(octet_length(x)) FROM unnest(v_texts) x WHERE octet_length(x) <= 1000), 0) + 50);
  FOR v_group IN
    SELECT array_agg(u.i ORDER BY u.k) AS ids, array_agg(u.x ORDER BY u.k) AS texts,
           'task_status' || E'\n' || json_build_object(
             'ids', array_agg(u.i ORDER BY u.k), 'status', 'success',
             'outcomes', json_object_agg(u.i, u.x ORDER BY u.k) FILTER (WHERE octet_length(u.x) <= 1000))::text AS message
    FROM unnest(v_ids, v_texts) WITH ORDINALITY AS u(i, x, k)
    GROUP BY (u.k - 1) / v_k
    ORDER BY (u.k - 1) / v_k
  LOOP
    IF octet_length(v_group.message) <= 7800 THEN
      PERFORM pg_notify(':CHANNEL', v_group.message);
    ELSE
      PERFORM :SCHEMA.notify_outcomes(v_group.ids, v_group.texts, 'success');
    END IF;
  END LOOP;
  RETURN v_ids;
END
$$;
`
