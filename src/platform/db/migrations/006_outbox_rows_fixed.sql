-- A service writes its replies into its outbox and marks them published; it cannot change a row's
-- subject or payload afterwards. The relay publishes only a service's own replies on its own reply
-- subjects, and a row rewritten after it was checked must not become another service's reply.
DO $$
DECLARE s text;
BEGIN
  FOREACH s IN ARRAY ARRAY['inventory', 'payment', 'loyalty', 'shipping'] LOOP
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shipshape_' || s) THEN
      EXECUTE format('REVOKE UPDATE ON %I.outbox FROM %I', s, 'shipshape_' || s);
      EXECUTE format('GRANT UPDATE (published_at) ON %I.outbox TO %I', s, 'shipshape_' || s);
    END IF;
  END LOOP;
END $$;
