/**
 * Migration 12: `finish_success` sends its one message whenever the message fits, measured.
 * It guessed the size from the texts (6 bytes a character, 48 an entry), so a batch of more
 * than 125 successes went to `notify_outcomes`, whose grouping (a window over the entries, a
 * JSON text per entry) cost the server ≈ 10 µs per task: 18% of its time in a drain of 10,000
 * no-op tasks, whose batches hold 200–300. The message is now built once and sent when it is
 * under the payload limit; a bigger one still goes through `notify_outcomes`. Same message,
 * same results.
 */
export const sql = String.raw`
CREATE OR REPLACE FUNCTION :SCHEMA.finish_success(p_ids bigint[], p_attempts integer[], p_texts text[], p_now bigint[]) RETURNS bigint[]
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  v_ids bigint[];
  v_texts text[];
  v_released boolean;
  v_message text;
  v_n integer;
  v_k integer;
  v_from integer;
  v_to integer;
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
  v_n := cardinality(v_ids);
  v_k := 7600 / (2 * coalesce((SELECT max(octet_length(x)) FROM unnest(v_texts) x WHERE octet_length(x) <= 1000), 0) + 50);
  v_from := 1;
  WHILE v_from <= v_n LOOP
    v_to := least(v_n, v_from + v_k - 1);
    v_message := 'task_status' || E'\n' || json_build_object(
      'ids', v_ids[v_from:v_to], 'status', 'success',
      'outcomes', (SELECT json_object_agg(i, x) FROM unnest(v_ids[v_from:v_to], v_texts[v_from:v_to]) AS u(i, x) WHERE octet_length(x) <= 1000))::text;
    IF octet_length(v_message) <= 7800 THEN
      PERFORM pg_notify(':CHANNEL', v_message);
    ELSE
      PERFORM :SCHEMA.notify_outcomes(v_ids[v_from:v_to], v_texts[v_from:v_to], 'success');
    END IF;
    v_from := v_to + 1;
  END LOOP;
  RETURN v_ids;
END
$$;
`
