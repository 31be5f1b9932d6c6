/**
 * Migration 1: tables, indexes and the functions of the hot path.
 *
 * `:SCHEMA` is replaced by the quoted schema name and `:CHANNEL` by the NOTIFY channel of the
 * queue (migrate.ts). Times are ms since the epoch in bigint columns, as the broker contract
 * counts them. Codec text (args, kwargs, stdin, extra, result, error) lives in `text` columns:
 * it is JSON whose strings escape NUL as \u0000, which `text` stores exactly (jsonb would refuse).
 * Append-only: a change is a new numbered migration, never an edit of this one.
 */
export const sql = String.raw`
CREATE TABLE :SCHEMA.tasks (
  id bigserial PRIMARY KEY,
  status text NOT NULL,
  priority integer NOT NULL,
  duration double precision NOT NULL,
  run_at bigint,
  -- Set while a pending task waits for its run_at; null once it may run.
  wait_until bigint,
  -- Dependencies not yet in success: the task is ready at 0.
  remaining integer NOT NULL DEFAULT 0,
  attempt integer NOT NULL DEFAULT 0,
  retry_count integer NOT NULL DEFAULT 0,
  parent bigint,
  "user" text,
  failed_dependency bigint,
  dependencies bigint[] NOT NULL DEFAULT '{}',
  worker text,
  lease_until bigint,
  created_at bigint NOT NULL,
  started_at bigint,
  finished_at bigint,
  args text NOT NULL,
  kwargs text,
  stdin text,
  extra text,
  result text,
  error text,
  -- JSON of the other fields of the TaskSpec (never filtered on).
  spec text NOT NULL,
  progress text,
  usage text,
  reason text
);

-- Ready tasks in dispatch order: waiting and delayed tasks are not in it, so a claim reads the
-- top of this index whatever the backlog.
CREATE INDEX tasks_ready ON :SCHEMA.tasks (priority DESC, duration DESC, id)
  WHERE status = 'pending' AND remaining = 0 AND wait_until IS NULL;
CREATE INDEX tasks_delayed ON :SCHEMA.tasks (wait_until)
  WHERE status = 'pending' AND remaining = 0 AND wait_until IS NOT NULL;
CREATE INDEX tasks_leases ON :SCHEMA.tasks (lease_until)
  WHERE status IN ('running', 'suspended');
CREATE INDEX tasks_parent ON :SCHEMA.tasks (parent, id) WHERE parent IS NOT NULL;

-- Dependency edges, found by dependency to release or fail dependents.
CREATE TABLE :SCHEMA.deps (
  dependency bigint NOT NULL,
  dependent bigint NOT NULL,
  PRIMARY KEY (dependency, dependent)
);
CREATE INDEX deps_dependent ON :SCHEMA.deps (dependent);

CREATE TABLE :SCHEMA.output (
  task_id bigint NOT NULL,
  seq integer NOT NULL,
  stream text NOT NULL,
  "offset" bigint NOT NULL,
  data bytea NOT NULL,
  time bigint NOT NULL,
  PRIMARY KEY (task_id, seq)
);
-- Next chunk number and per-stream byte offsets of each task's output.
CREATE TABLE :SCHEMA.output_heads (
  task_id bigint PRIMARY KEY,
  next_seq integer NOT NULL,
  offsets jsonb NOT NULL
);

-- Events too big for a NOTIFY payload: the notification carries the row id.
CREATE TABLE :SCHEMA.events (
  id bigserial PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  payload text NOT NULL
);

-- Publishes task_status messages for ids, 500 ids a message (under the 8000-byte limit).
CREATE FUNCTION :SCHEMA.notify_status(p_ids bigint[], p_status text) RETURNS void
LANGUAGE sql AS $$
  SELECT count(pg_notify(':CHANNEL', 'task_status' || E'\n' || json_build_object('ids', g.ids, 'status', p_status)::text))
  FROM (
    SELECT array_agg(u.id ORDER BY u.k) AS ids, min(u.k) AS first
    FROM unnest(p_ids) WITH ORDINALITY AS u(id, k)
    GROUP BY (u.k - 1) / 500
    ORDER BY first
  ) g;
$$;

CREATE FUNCTION :SCHEMA.notify_new_work() RETURNS void
LANGUAGE sql AS $$ SELECT pg_notify(':CHANNEL', 'new_work' || E'\n{}') $$;

-- Fails every transitive dependent of p_root that is not complete, in one statement.
CREATE FUNCTION :SCHEMA.fail_dependents(p_root bigint, p_error text, p_now bigint) RETURNS bigint[]
LANGUAGE sql AS $$
  WITH RECURSIVE down(id) AS (
    SELECT d.dependent FROM :SCHEMA.deps d JOIN :SCHEMA.tasks t ON t.id = d.dependent
    WHERE d.dependency = p_root AND t.status NOT IN ('success', 'error', 'killed')
    UNION
    SELECT d.dependent FROM down JOIN :SCHEMA.deps d ON d.dependency = down.id JOIN :SCHEMA.tasks t ON t.id = d.dependent
    WHERE t.status NOT IN ('success', 'error', 'killed')
  ), failed AS (
    UPDATE :SCHEMA.tasks t
    SET status = 'error', error = p_error, failed_dependency = p_root, finished_at = p_now, lease_until = NULL, wait_until = NULL
    FROM down WHERE t.id = down.id AND t.status NOT IN ('success', 'error', 'killed')
    RETURNING t.id
  )
  SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM failed;
$$;

-- Creates a batch. d_task/d_id/d_index list the dependencies in order: d_task is the 1-based
-- position of the dependent in the batch, the dependency is d_id (an existing task) or the
-- d_index-th task of the batch. p_failed_tpl is the codec text of DependencyFailedError with
-- 9007199254740991 for the id and zqstatuszq for the status.
CREATE FUNCTION :SCHEMA.submit(
  p_now bigint, p_priority integer[], p_duration double precision[], p_run_at bigint[], p_parent bigint[],
  p_user text[], p_args text[], p_kwargs text[], p_stdin text[], p_extra text[], p_spec text[],
  d_task integer[], d_id bigint[], d_index integer[], p_failed_tpl text,
  OUT ids bigint[], OUT failed bigint[], OUT new_work boolean)
LANGUAGE plpgsql AS $$
DECLARE
  n integer := cardinality(p_priority);
  v_ext bigint[];
  v_missing bigint;
  v_flag boolean[];
  v_status text;
  v_dep bigint;
  v_k integer;
  v_t integer;
BEGIN
  failed := '{}';
  v_ext := ARRAY(SELECT DISTINCT x FROM unnest(d_id) x WHERE x IS NOT NULL ORDER BY x);
  IF cardinality(v_ext) > 0 THEN
    -- Locked so that a dependency finishing now waits for this batch and then sees its edges.
    PERFORM 1 FROM (SELECT id FROM :SCHEMA.tasks WHERE id = ANY(v_ext) ORDER BY id FOR SHARE) l;
    SELECT x INTO v_missing FROM unnest(v_ext) x WHERE NOT EXISTS (SELECT 1 FROM :SCHEMA.tasks WHERE id = x) LIMIT 1;
    IF v_missing IS NOT NULL THEN
      RAISE EXCEPTION 'dependency % does not exist', v_missing USING ERRCODE = 'AQ001';
    END IF;
  END IF;
  ids := ARRAY(SELECT nextval(':SCHEMA.tasks_id_seq') FROM generate_series(1, n));

  INSERT INTO :SCHEMA.tasks (id, status, priority, duration, run_at, wait_until, remaining, parent, "user",
                             dependencies, created_at, args, kwargs, stdin, extra, spec)
  SELECT ids[i], 'pending', p_priority[i], p_duration[i], p_run_at[i],
         CASE WHEN p_run_at[i] > p_now THEN p_run_at[i] END,
         coalesce(r.remaining, 0), p_parent[i], p_user[i], coalesce(r.deps, '{}'), p_now,
         p_args[i], p_kwargs[i], p_stdin[i], p_extra[i], p_spec[i]
  FROM generate_series(1, n) i
  LEFT JOIN (
    SELECT d.t, array_agg(d.dep ORDER BY d.k) AS deps,
           count(DISTINCT d.dep) FILTER (WHERE d.internal OR x.status IS DISTINCT FROM 'success') AS remaining
    FROM (SELECT k, d_task[k] AS t, coalesce(d_id[k], ids[d_index[k]]) AS dep, d_index[k] IS NOT NULL AS internal
          FROM generate_subscripts(d_task, 1) k) d
    LEFT JOIN :SCHEMA.tasks x ON x.id = d.dep AND NOT d.internal
    GROUP BY d.t
  ) r ON r.t = i
  ORDER BY i;

  IF cardinality(d_task) > 0 THEN
    INSERT INTO :SCHEMA.deps (dependency, dependent)
    SELECT DISTINCT coalesce(d_id[k], ids[d_index[k]]), ids[d_task[k]] FROM generate_subscripts(d_task, 1) k
    ON CONFLICT DO NOTHING;
  END IF;

  -- A dependency that already failed fails its dependents in the batch, transitively (rare:
  -- a plain loop over the dependencies, in batch order, which is dependency order).
  IF EXISTS (SELECT 1 FROM :SCHEMA.tasks WHERE id = ANY(v_ext) AND status IN ('error', 'killed')) THEN
    v_flag := array_fill(false, ARRAY[n]);
    FOR v_k IN 1 .. cardinality(d_task) LOOP
      v_t := d_task[v_k];
      CONTINUE WHEN v_flag[v_t];
      IF d_index[v_k] IS NOT NULL THEN
        CONTINUE WHEN NOT v_flag[d_index[v_k]];
        v_dep := ids[d_index[v_k]];
        v_status := 'error';
      ELSE
        SELECT status INTO v_status FROM :SCHEMA.tasks WHERE id = d_id[v_k];
        CONTINUE WHEN v_status NOT IN ('error', 'killed');
        v_dep := d_id[v_k];
      END IF;
      v_flag[v_t] := true;
      UPDATE :SCHEMA.tasks
      SET status = 'error', failed_dependency = v_dep, finished_at = p_now, wait_until = NULL,
          error = replace(replace(p_failed_tpl, '9007199254740991', v_dep::text), 'zqstatuszq', v_status)
      WHERE id = ids[v_t];
      failed := failed || ids[v_t];
    END LOOP;
  END IF;

  new_work := EXISTS (SELECT 1 FROM :SCHEMA.tasks WHERE id = ANY(ids) AND status = 'pending' AND remaining = 0);
  PERFORM :SCHEMA.notify_status(ids, 'pending');
  PERFORM :SCHEMA.notify_status(failed, 'error');
  IF new_work THEN PERFORM :SCHEMA.notify_new_work(); END IF;
END
$$;

-- Delayed tasks whose time came join the ready index.
CREATE FUNCTION :SCHEMA.promote(p_now bigint) RETURNS void
LANGUAGE sql AS $$
  UPDATE :SCHEMA.tasks SET wait_until = NULL
  WHERE status = 'pending' AND remaining = 0 AND wait_until IS NOT NULL AND wait_until <= p_now;
$$;

-- Claims and finishes commit without waiting for the WAL flush (synchronous_commit off, for
-- their transaction only). A server crash can forget the last few ms of them, which the
-- fencing already covers: a forgotten claim leaves the task pending and its run's finish is
-- refused; a forgotten finish leaves it running until the lease ends and it runs again.
-- Nothing is lost and nothing is recorded twice; submits stay fully durable.

-- Makes chosen (already locked) ready tasks running for a worker.
CREATE FUNCTION :SCHEMA.claim_ids(p_ids bigint[], p_worker text, p_lease bigint, p_now bigint) RETURNS SETOF :SCHEMA.tasks
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  RETURN QUERY
  UPDATE :SCHEMA.tasks t
  SET status = 'running', attempt = t.attempt + 1, worker = p_worker, started_at = p_now,
      lease_until = p_now + p_lease, reason = NULL
  WHERE t.id = ANY(p_ids) AND t.status = 'pending'
  RETURNING t.*;
  PERFORM :SCHEMA.notify_status(p_ids, 'running');
END
$$;

-- Claims up to p_limit ready tasks in dispatch order, skipping rows other claimers hold.
CREATE FUNCTION :SCHEMA.claim(p_worker text, p_limit integer, p_lease bigint, p_now bigint) RETURNS SETOF :SCHEMA.tasks
LANGUAGE plpgsql AS $$
DECLARE
  v_ids bigint[];
BEGIN
  PERFORM :SCHEMA.promote(p_now);
  v_ids := ARRAY(
    SELECT id FROM :SCHEMA.tasks
    WHERE status = 'pending' AND remaining = 0 AND wait_until IS NULL
    ORDER BY priority DESC, duration DESC, id
    LIMIT p_limit
    FOR UPDATE SKIP LOCKED);
  IF cardinality(v_ids) > 0 THEN
    RETURN QUERY SELECT * FROM :SCHEMA.claim_ids(v_ids, p_worker, p_lease, p_now);
  END IF;
END
$$;

-- Records how runs ended, fenced by attempt (null: any run not complete). One entry per
-- position of the arrays; p_dep_error is the text dependents get when the run failed.
-- Returns, per entry, whether it applied.
CREATE FUNCTION :SCHEMA.finish(
  p_ids bigint[], p_attempts integer[], p_status text[], p_text text[], p_retry_at bigint[], p_now bigint[], p_dep_error text[])
RETURNS boolean[]
LANGUAGE plpgsql AS $$
DECLARE
  applied boolean[] := '{}';
  v_success bigint[] := '{}';
  v_pending bigint[] := '{}';
  v_error bigint[] := '{}';
  v_killed bigint[] := '{}';
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
        WITH released AS (
          UPDATE :SCHEMA.tasks t SET remaining = t.remaining - 1
          FROM :SCHEMA.deps d
          WHERE d.dependency = v_id AND t.id = d.dependent AND t.status NOT IN ('success', 'error', 'killed')
          RETURNING t.remaining, t.status
        )
        SELECT coalesce(bool_or(remaining = 0 AND status = 'pending'), false) INTO v_released FROM released;
        v_new := v_new OR v_released;
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
        IF p_status[i] = 'killed' THEN v_killed := v_killed || v_id; ELSE v_error := v_error || v_id; END IF;
        v_failed := v_failed || :SCHEMA.fail_dependents(v_id, p_dep_error[i], p_now[i]);
      END IF;
    END IF;
    applied := applied || (v_id IS NOT NULL);
  END LOOP;
  PERFORM :SCHEMA.notify_status(v_success, 'success');
  PERFORM :SCHEMA.notify_status(v_pending, 'pending');
  PERFORM :SCHEMA.notify_status(v_error, 'error');
  PERFORM :SCHEMA.notify_status(v_killed, 'killed');
  PERFORM :SCHEMA.notify_status(v_failed, 'error');
  IF v_new THEN PERFORM :SCHEMA.notify_new_work(); END IF;
  RETURN applied;
END
$$;

-- Running tasks whose lease ended go back to pending (the caller publishes the change).
CREATE FUNCTION :SCHEMA.reap(p_now bigint) RETURNS bigint[]
LANGUAGE sql AS $$
  WITH back AS (
    UPDATE :SCHEMA.tasks
    SET status = 'pending', worker = NULL, lease_until = NULL, wait_until = CASE WHEN run_at > p_now THEN run_at END
    WHERE status IN ('running', 'suspended') AND lease_until <= p_now
    RETURNING id
  )
  SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM back;
$$;

-- Kills tasks that are not complete; their dependents fail. p_dep_errors[i] is the text of
-- the dependents of p_ids[i].
CREATE FUNCTION :SCHEMA.kill(p_ids bigint[], p_error text, p_dep_errors text[], p_now bigint,
  OUT running bigint[], OUT killed bigint[], OUT failed bigint[])
LANGUAGE plpgsql AS $$
DECLARE
  v_status text;
  i integer;
BEGIN
  running := '{}'; killed := '{}'; failed := '{}';
  FOR i IN 1 .. cardinality(p_ids) LOOP
    SELECT status INTO v_status FROM :SCHEMA.tasks WHERE id = p_ids[i] FOR UPDATE;
    CONTINUE WHEN v_status IS NULL OR v_status IN ('success', 'error', 'killed');
    IF v_status IN ('running', 'suspended') THEN running := running || p_ids[i]; END IF;
    UPDATE :SCHEMA.tasks
    SET status = 'killed', error = p_error, finished_at = p_now, lease_until = NULL, wait_until = NULL
    WHERE id = p_ids[i];
    killed := killed || p_ids[i];
    failed := failed || :SCHEMA.fail_dependents(p_ids[i], p_dep_errors[i], p_now);
  END LOOP;
END
$$;
`
