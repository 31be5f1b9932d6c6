/**
 * Migration 10: `finish_one`, a lone success (a future awaited one task at a time, say)
 * without `finish_success`'s arrays. `finish_success` reads its batch with a four-array
 * `unnest`, which for a batch of one costs the server about as much again as the update
 * itself: a lone success took 0.7–0.8 ms against 0.3 ms here (plain client, 200 calls each).
 * Same checks (fenced by attempt; null: any run not complete), same release of dependents
 * (read in a statement of its own, after the row lock: see `finish_success`), same message.
 * Returns the ids it applied to, as `finish_success` does: '{}' or {p_id}.
 */
export const sql = String.raw`
CREATE FUNCTION :SCHEMA.finish_one(p_id bigint, p_attempt integer, p_text text, p_now bigint) RETURNS bigint[]
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  v_released boolean;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  UPDATE :SCHEMA.tasks t
    SET status = 'success', result = p_text, error = NULL, finished_at = p_now, lease_until = NULL, wait_until = NULL
    WHERE t.id = p_id
      AND CASE WHEN p_attempt IS NULL THEN t.status NOT IN ('success', 'error', 'killed')
               ELSE t.status IN ('running', 'suspended') AND t.attempt = p_attempt END;
  IF NOT FOUND THEN
    RETURN '{}';
  END IF;
  IF EXISTS (SELECT 1 FROM :SCHEMA.deps d WHERE d.dependency = p_id) THEN
    WITH released AS (
      UPDATE :SCHEMA.tasks t SET remaining = t.remaining - 1
      FROM :SCHEMA.deps d
      WHERE d.dependency = p_id AND t.id = d.dependent AND t.status NOT IN ('success', 'error', 'killed')
      RETURNING t.remaining, t.status
    )
    SELECT coalesce(bool_or(remaining = 0 AND status = 'pending'), false) INTO v_released FROM released;
    IF v_released THEN PERFORM :SCHEMA.notify_new_work(); END IF;
  END IF;
  -- The message of finish_success for one id: the outcome in it when small.
  IF coalesce(octet_length(p_text), 0) * 6 + 48 <= 6000 THEN
    PERFORM pg_notify(':CHANNEL', 'task_status' || E'\n' || json_build_object(
      'ids', ARRAY[p_id], 'status', 'success',
      'outcomes', CASE WHEN octet_length(p_text) <= 1000 THEN json_build_object(p_id, p_text) END)::text);
  ELSE
    PERFORM :SCHEMA.notify_outcomes(ARRAY[p_id], ARRAY[p_text], 'success');
  END IF;
  RETURN ARRAY[p_id];
END
$$;
`
