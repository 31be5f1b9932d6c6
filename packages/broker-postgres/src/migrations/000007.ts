/**
 * Migration 7: pausing and resuming a run (a worker suspends a task for more urgent work).
 *
 * `set_suspended` is fenced like `finish`: only a task that is running or suspended with the
 * given attempt changes. Its lease, worker and started_at stay: the worker keeps renewing the
 * lease of a suspended run, so reap leaves it alone. The status event goes out in the same
 * transaction. Returns 0 when the run is not held, 1 when it is and its status was already the
 * one asked, 2 when the status changed.
 */
export const sql = `
CREATE FUNCTION :SCHEMA.set_suspended(p_id bigint, p_attempt integer, p_suspended boolean) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_to text := CASE WHEN p_suspended THEN 'suspended' ELSE 'running' END;
  v_from text;
BEGIN
  SELECT status INTO v_from FROM :SCHEMA.tasks
  WHERE id = p_id AND attempt = p_attempt AND status IN ('running', 'suspended')
  FOR UPDATE;
  IF NOT FOUND THEN RETURN 0; END IF;
  IF v_from = v_to THEN RETURN 1; END IF;
  UPDATE :SCHEMA.tasks SET status = v_to WHERE id = p_id;
  PERFORM :SCHEMA.notify_status(ARRAY[p_id], v_to);
  RETURN 2;
END
$$;
`
