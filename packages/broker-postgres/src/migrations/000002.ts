/**
 * Migration 2: a claim in one round trip, a deterministic "when to look again", and outcomes in
 * the completion events.
 *
 * - `promote` skips rows locked by others instead of waiting for them.
 * - `next_run_at(now, seen)`: what a claim that got nothing reports. A ready task it did not
 *   see (locked by another claimer) means now; else the earliest delayed ready task, never
 *   earlier than now (a due one that another transaction holds, before its promotion).
 * - `claim_top`: claims the top of the ready index at once and returns the claimed rows with
 *   their `started_at` and `reason` as they were before (so that a task the worker refuses is
 *   handed back unchanged by `unclaim`). When it claims nothing it returns one marker row whose
 *   id is null and whose `run_at` is `next_run_at(now)`.
 * - `unclaim`: hands refused tasks back to pending, fenced by worker and attempt.
 * - `finish` replaced: its success/error/killed messages carry the codec text of small
 *   results and errors (`outcomes`), so that a waiting Future need not read them back.
 */
export const sql = String.raw`
-- Delayed tasks whose time came join the ready index; rows another transaction holds are left
-- for later (their claim reports them as due now) instead of waited for.
CREATE OR REPLACE FUNCTION :SCHEMA.promote(p_now bigint) RETURNS void
LANGUAGE sql AS $$
  UPDATE :SCHEMA.tasks SET wait_until = NULL
  WHERE id IN (SELECT id FROM :SCHEMA.tasks
               WHERE status = 'pending' AND remaining = 0 AND wait_until IS NOT NULL AND wait_until <= p_now
               FOR UPDATE SKIP LOCKED);
$$;

-- p_seen: the ready tasks the claim looked at and did not take (refused by the worker), or
-- null when it could not look at all of them (its window was full): then only delayed tasks
-- count, as a claim does not report tasks the worker refuses.
CREATE FUNCTION :SCHEMA.next_run_at(p_now bigint, p_seen bigint[]) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN p_seen IS NOT NULL AND EXISTS (SELECT 1 FROM :SCHEMA.tasks WHERE status = 'pending' AND remaining = 0 AND wait_until IS NULL AND id <> ALL(p_seen)) THEN p_now
    -- (not greatest(): it ignores a null min)
    ELSE (SELECT CASE WHEN min(wait_until) <= p_now THEN p_now ELSE min(wait_until) END FROM :SCHEMA.tasks WHERE status = 'pending' AND remaining = 0 AND wait_until IS NOT NULL)
  END
$$;

CREATE FUNCTION :SCHEMA.claim_top(p_worker text, p_limit integer, p_lease bigint, p_now bigint) RETURNS SETOF :SCHEMA.tasks
LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
  v_marker :SCHEMA.tasks;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  PERFORM :SCHEMA.promote(p_now);
  v_ids := ARRAY(
    SELECT id FROM :SCHEMA.tasks
    WHERE status = 'pending' AND remaining = 0 AND wait_until IS NULL
    ORDER BY priority DESC, duration DESC, id
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED);
  IF cardinality(v_ids) = 0 THEN
    v_marker.run_at := :SCHEMA.next_run_at(p_now, '{}');
    RETURN NEXT v_marker;
    RETURN;
  END IF;
  -- The rows are locked by this transaction: c reads them as they were before the claim.
  RETURN QUERY
  UPDATE :SCHEMA.tasks t
  SET status = 'running', attempt = t.attempt + 1, worker = p_worker, started_at = p_now,
      lease_until = p_now + p_lease, reason = NULL
  FROM (SELECT id, started_at, reason FROM :SCHEMA.tasks WHERE id = ANY(v_ids)) c
  WHERE t.id = c.id
  RETURNING t.id, t.status, t.priority, t.duration, t.run_at, t.wait_until, t.remaining, t.attempt,
    t.retry_count, t.parent, t."user", t.failed_dependency, t.dependencies, t.worker, t.lease_until,
    t.created_at, c.started_at, t.finished_at, t.args, t.kwargs, t.stdin, t.extra, t.result, t.error,
    t.spec, t.progress, t.usage, c.reason;
  PERFORM :SCHEMA.notify_status(v_ids, 'running');
END
$$;

-- Hands tasks a worker refused back to pending as they were (p_started/p_reason: their values
-- before the claim), if that worker still holds that attempt.
CREATE FUNCTION :SCHEMA.unclaim(p_worker text, p_ids bigint[], p_attempts integer[], p_started bigint[], p_reasons text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  WITH back AS (
    UPDATE :SCHEMA.tasks t
    SET status = 'pending', attempt = t.attempt - 1, worker = NULL, lease_until = NULL, started_at = u.started, reason = u.reason
    FROM unnest(p_ids, p_attempts, p_started, p_reasons) AS u(id, attempt, started, reason)
    WHERE t.id = u.id AND t.attempt = u.attempt AND t.worker = p_worker AND t.status = 'running'
    RETURNING t.id
  )
  SELECT array_agg(id ORDER BY id) INTO v_ids FROM back;
  IF v_ids IS NOT NULL THEN
    PERFORM :SCHEMA.notify_status(v_ids, 'pending');
    PERFORM :SCHEMA.notify_new_work();
  END IF;
END
$$;

-- Status messages of completed tasks with the codec text of their small results/errors
-- (p_texts, in the order of p_ids): texts over 1,000 bytes once in JSON are left out (read
-- back by the waiter), and ids are grouped so that a message stays near 6,000 bytes, well
-- under the 8,000-byte NOTIFY limit.
CREATE FUNCTION :SCHEMA.notify_outcomes(p_ids bigint[], p_texts text[], p_status text) RETURNS void
LANGUAGE sql AS $$
  SELECT count(pg_notify(':CHANNEL', 'task_status' || E'\n' || json_build_object(
           'ids', g.ids, 'status', p_status,
           'outcomes', coalesce(g.outcomes, '{}'::json))::text))
  FROM (
    SELECT array_agg(x.id ORDER BY x.k) AS ids,
           json_object_agg(x.id, x.text) FILTER (WHERE x.small) AS outcomes,
           min(x.k) AS first
    FROM (
      SELECT u.id, u.k, u.text, u.size <= 1000 AS small,
             sum(CASE WHEN u.size <= 1000 THEN u.size ELSE 0 END + 24) OVER (ORDER BY u.k) AS upto
      FROM (
        SELECT id, k, text, coalesce(octet_length(to_json(text)::text), 4) AS size
        FROM unnest(p_ids, p_texts) WITH ORDINALITY AS v(id, text, k)
      ) u
    ) x
    GROUP BY x.upto / 6000
    ORDER BY first
  ) g;
$$;

CREATE OR REPLACE FUNCTION :SCHEMA.finish(
  p_ids bigint[], p_attempts integer[], p_status text[], p_text text[], p_retry_at bigint[], p_now bigint[], p_dep_error text[])
RETURNS boolean[]
LANGUAGE plpgsql AS $$
DECLARE
  applied boolean[] := '{}';
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
  FOR i IN 1 .. cardinality(p_ids) LOOP
    v_id := NULL;
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
    applied := applied || (v_id IS NOT NULL);
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
