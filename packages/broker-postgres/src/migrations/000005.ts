/**
 * Migration 5: no plan that reads a whole table on the claim and finish path.
 *
 * `finish` looks for dependents of a batch's successes with one index probe per id, and never
 * plans a sequential scan.
 * `promote` finds the due delayed tasks through the delayed index first, then
 * updates them by id. Written as `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)` the
 * planner may join the whole table (a sequential scan of 100,000 waiting tasks at every claim);
 * and with nothing due, as at almost every claim, nothing is updated at all.
 */
export const sql = String.raw`
CREATE OR REPLACE FUNCTION :SCHEMA.promote(p_now bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
BEGIN
  v_ids := ARRAY(
    SELECT id FROM :SCHEMA.tasks
    WHERE status = 'pending' AND remaining = 0 AND wait_until IS NOT NULL AND wait_until <= p_now
    FOR UPDATE SKIP LOCKED);
  IF cardinality(v_ids) > 0 THEN
    UPDATE :SCHEMA.tasks SET wait_until = NULL WHERE id = ANY(v_ids);
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION :SCHEMA.finish(
  p_ids bigint[], p_attempts integer[], p_status text[], p_text text[], p_retry_at bigint[], p_now bigint[], p_dep_error text[])
RETURNS boolean[]
-- Every statement here finds its rows by key. When the statistics say that one task has every
-- edge (100,000 tasks waiting on one), the planner expects each probe of deps to match them
-- all and reads the table instead (3 ms a probe); no plan of finish wants a sequential scan.
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
  v_n integer := cardinality(p_ids);
  applied boolean[] := array_fill(false, ARRAY[cardinality(p_ids)]);
  v_fast boolean := false;
  v_fast_k bigint[];
  v_success bigint[] := '{}';
  v_success_text text[] := '{}';
  v_pending bigint[] := '{}';
  v_error bigint[] := '{}';
  v_error_text text[] := '{}';
  v_killed bigint[] := '{}';
  v_killed_text text[] := '{}';
  v_failed bigint[] := '{}';
  v_new boolean := false;
  v_released boolean;
  v_id bigint;
  i integer;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  -- Successes of distinct ids (the usual batch) in one statement, and their dependents in
  -- another; the rest one by one below, in batch order.
  IF v_n > 1 AND (SELECT count(DISTINCT x) FROM unnest(p_ids) x) = v_n THEN
    v_fast := true;
    WITH done AS (
      UPDATE :SCHEMA.tasks t
      SET status = 'success', result = u.text, error = NULL, finished_at = u.now, lease_until = NULL, wait_until = NULL
      FROM unnest(p_ids, p_attempts, p_status, p_text, p_now) WITH ORDINALITY AS u(id, attempt, status, text, now, k)
      WHERE u.status = 'success' AND t.id = u.id
        AND CASE WHEN u.attempt IS NULL THEN t.status NOT IN ('success', 'error', 'killed')
                 ELSE t.status IN ('running', 'suspended') AND t.attempt = u.attempt END
      RETURNING u.k, t.id, u.text
    )
    SELECT coalesce(array_agg(k ORDER BY k), '{}'), coalesce(array_agg(id ORDER BY k), '{}'), coalesce(array_agg(text ORDER BY k), '{}')
    INTO v_fast_k, v_success, v_success_text FROM done;
    FOR i IN 1 .. cardinality(v_fast_k) LOOP
      applied[v_fast_k[i]] := true;
    END LOOP;
    -- One probe of the primary key per id (LIMIT keeps the planner from turning it into a
    -- join): as "dependency = ANY(array)" or a semi-join, the whole table was read, 6-12 ms
    -- with 100,000 edges, before or after ANALYZE.
    IF EXISTS (SELECT 1 FROM unnest(v_success) AS x(id), LATERAL (SELECT 1 FROM :SCHEMA.deps d WHERE d.dependency = x.id LIMIT 1) l) THEN
      WITH released AS (
        UPDATE :SCHEMA.tasks t SET remaining = t.remaining - d.n
        FROM (SELECT dependent, count(*)::integer AS n FROM :SCHEMA.deps WHERE dependency = ANY(v_success) GROUP BY dependent) d
        WHERE t.id = d.dependent AND t.status NOT IN ('success', 'error', 'killed')
        RETURNING t.remaining, t.status
      )
      SELECT coalesce(bool_or(remaining = 0 AND status = 'pending'), false) INTO v_released FROM released;
      v_new := v_new OR v_released;
    END IF;
  END IF;
  FOR i IN 1 .. v_n LOOP
    v_id := NULL;
    CONTINUE WHEN v_fast AND p_status[i] = 'success';
    IF p_status[i] = 'success' THEN
      UPDATE :SCHEMA.tasks
      SET status = 'success', result = p_text[i], error = NULL, finished_at = p_now[i], lease_until = NULL, wait_until = NULL
      WHERE id = p_ids[i] AND CASE WHEN p_attempts[i] IS NULL THEN status NOT IN ('success', 'error', 'killed')
                                   ELSE status IN ('running', 'suspended') AND attempt = p_attempts[i] END
      RETURNING id INTO v_id;
      IF v_id IS NOT NULL THEN
        v_success := v_success || v_id;
        v_success_text := v_success_text || p_text[i];
        -- Only a task with dependents can release any: most have none.
        IF EXISTS (SELECT 1 FROM :SCHEMA.deps WHERE dependency = v_id) THEN
          WITH released AS (
            UPDATE :SCHEMA.tasks t SET remaining = t.remaining - 1
            FROM :SCHEMA.deps d
            WHERE d.dependency = v_id AND t.id = d.dependent AND t.status NOT IN ('success', 'error', 'killed')
            RETURNING t.remaining, t.status
          )
          SELECT coalesce(bool_or(remaining = 0 AND status = 'pending'), false) INTO v_released FROM released;
          v_new := v_new OR v_released;
        END IF;
      END IF;
    ELSIF p_status[i] = 'error' AND p_retry_at[i] IS NOT NULL THEN
      UPDATE :SCHEMA.tasks
      SET status = 'pending', error = p_text[i], retry_count = retry_count + 1, run_at = p_retry_at[i],
          wait_until = CASE WHEN p_retry_at[i] > p_now[i] THEN p_retry_at[i] END, lease_until = NULL, worker = NULL
      WHERE id = p_ids[i] AND CASE WHEN p_attempts[i] IS NULL THEN status NOT IN ('success', 'error', 'killed')
                                   ELSE status IN ('running', 'suspended') AND attempt = p_attempts[i] END
      RETURNING id INTO v_id;
      IF v_id IS NOT NULL THEN
        v_pending := v_pending || v_id;
        v_new := true;
      END IF;
    ELSE
      UPDATE :SCHEMA.tasks
      SET status = p_status[i], error = p_text[i], finished_at = p_now[i], lease_until = NULL, wait_until = NULL
      WHERE id = p_ids[i] AND CASE WHEN p_attempts[i] IS NULL THEN status NOT IN ('success', 'error', 'killed')
                                   ELSE status IN ('running', 'suspended') AND attempt = p_attempts[i] END
      RETURNING id INTO v_id;
      IF v_id IS NOT NULL THEN
        IF p_status[i] = 'killed' THEN
          v_killed := v_killed || v_id;
          v_killed_text := v_killed_text || p_text[i];
        ELSE
          v_error := v_error || v_id;
          v_error_text := v_error_text || p_text[i];
        END IF;
        v_failed := v_failed || :SCHEMA.fail_dependents(v_id, p_dep_error[i], p_now[i]);
      END IF;
    END IF;
    applied[i] := v_id IS NOT NULL;
  END LOOP;
  PERFORM :SCHEMA.notify_outcomes(v_success, v_success_text, 'success');
  PERFORM :SCHEMA.notify_status(v_pending, 'pending');
  PERFORM :SCHEMA.notify_outcomes(v_error, v_error_text, 'error');
  PERFORM :SCHEMA.notify_outcomes(v_killed, v_killed_text, 'killed');
  PERFORM :SCHEMA.notify_status(v_failed, 'error');
  IF v_new THEN PERFORM :SCHEMA.notify_new_work(); END IF;
  RETURN applied;
END
$$;
`
