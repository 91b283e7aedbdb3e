-- A charge or a shipment is made at a provider that has no look-up, inside the transaction that records
-- it. If the provider acts and its answer is lost, that transaction rolls back and nothing here says the
-- effect exists. So the call is noted, and committed, before it is made; the note is removed when the
-- effect is recorded. A compensation that finds a note and no record replays the call under the same
-- idempotency key (the provider answers with what it did) and undoes it. The payload is json, not jsonb:
-- the replay must send the very request the key was first used with, keys in the same order.
DO $$
DECLARE s text;
BEGIN
  FOREACH s IN ARRAY ARRAY['payment', 'shipping'] LOOP
    EXECUTE format($f$
      CREATE TABLE %I.provider_calls (
        command_id   text PRIMARY KEY,
        order_id     text NOT NULL,
        command_type text NOT NULL,
        payload      json NOT NULL,
        noted_at     timestamptz NOT NULL DEFAULT now()
      )$f$, s);
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shipshape_' || s) THEN
      EXECUTE format('GRANT SELECT, INSERT, DELETE ON %I.provider_calls TO %I', s, 'shipshape_' || s);
    END IF;
  END LOOP;
END $$;
