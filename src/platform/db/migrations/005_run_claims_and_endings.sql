-- Every command carries the Temporal run that sent it and when (the sendCommand activity stamps it
-- with the server's time of the send). A service lets one run act on an order at a time: the run that
-- sent to it last. A reset, or the cleanup of a run that closed unfinished, is a new run whose sends
-- all come after the old run's, so a command the old run left in the stream is refused when it
-- arrives (recorded in fenced_commands) instead of undoing or redoing what the new run decided.
DO $$
DECLARE s text;
BEGIN
  FOREACH s IN ARRAY ARRAY['inventory', 'payment', 'loyalty', 'shipping'] LOOP
    EXECUTE format('ALTER TABLE %I.consumed_messages ADD COLUMN run_id text', s);
    EXECUTE format($f$
      CREATE TABLE %I.order_claims (
        order_id   text PRIMARY KEY,
        run_id     text NOT NULL,
        -- that run's first send seen here, in ms since the epoch (Temporal's clock)
        sent_at_ms bigint NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now()
      )$f$, s);
    EXECUTE format($f$
      CREATE TABLE %I.fenced_commands (
        command_id         text NOT NULL,
        command_type       text NOT NULL,
        order_id           text NOT NULL,
        run_id             text NOT NULL,
        sent_at_ms         bigint NOT NULL,
        claimant_run_id    text NOT NULL,
        claimant_sent_at_ms bigint NOT NULL,
        refused_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (command_id, run_id, sent_at_ms)
      )$f$, s);
    EXECUTE format('CREATE INDEX ON %I.fenced_commands (order_id)', s);
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shipshape_' || s) THEN
      EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I.order_claims TO %I', s, 'shipshape_' || s);
      EXECUTE format('GRANT SELECT, INSERT ON %I.fenced_commands TO %I', s, 'shipshape_' || s);
    END IF;
  END LOOP;
  -- A compensation finds the note of the forward call by order: the cleanup of a closed run does
  -- not know the forward command's id.
  FOREACH s IN ARRAY ARRAY['payment', 'shipping'] LOOP
    EXECUTE format('CREATE INDEX ON %I.provider_calls (order_id, command_type)', s);
  END LOOP;
END $$;

-- An order row says why it waits for a person (also when the reconciler, not the workflow, found
-- it: workflow tasks that keep failing, a workflow gone from Temporal), and how many cleanups of
-- runs that closed unfinished were started for it (the reconciler stops at its limit).
ALTER TABLE app.orders ADD COLUMN attention text;
ALTER TABLE app.orders ADD COLUMN cleanup_runs integer NOT NULL DEFAULT 0;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shipshape_reconciler') THEN
    GRANT UPDATE (status, attention, cleanup_runs, updated_at) ON app.orders TO shipshape_reconciler;
  END IF;
END $$;
