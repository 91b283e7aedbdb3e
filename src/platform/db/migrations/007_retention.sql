-- What deduplicates is pruned once it is older than its retention (docs/failures.md, "Bounded data"):
-- each service prunes its own record of an order's commands, the reply bridge the dead letters. Each
-- gets DELETE on those tables, and no more: a trigger refuses to delete a row younger than the
-- retention floor, the least any retention may be (the namespace's retention plus the longest an
-- order lives), which `shipshape setup` writes from the configuration. So a service's role, whoever
-- holds it, still cannot forget a command a reset could send again.

CREATE TABLE public.retention_floor (
  single boolean PRIMARY KEY DEFAULT true CHECK (single),
  hours  integer NOT NULL CHECK (hours >= 1)
);
-- The defaults' floor (168 h + 168 h), until setup writes the configured one.
INSERT INTO public.retention_floor (hours) VALUES (336);

CREATE FUNCTION public.refuse_young_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  stamped timestamptz := (to_jsonb(OLD) ->> TG_ARGV[0])::timestamptz;
  floor_hours integer := (SELECT hours FROM public.retention_floor);
BEGIN
  IF stamped > now() - make_interval(hours => floor_hours) THEN
    RAISE EXCEPTION 'a row of %.% from % is younger than the retention floor (% h): deduplication may still need it',
      TG_TABLE_SCHEMA, TG_TABLE_NAME, stamped, floor_hours
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN OLD;
END $$;

CREATE FUNCTION pg_temp.shipshape_prunable(tbl text, stamp text, grantee text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TRIGGER refuse_young_delete BEFORE DELETE ON %s FOR EACH ROW
    EXECUTE FUNCTION public.refuse_young_delete(%L)', tbl, stamp);
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grantee) THEN
    EXECUTE format('GRANT DELETE ON %s TO %I', tbl, grantee);
  END IF;
END $$;

DO $$
DECLARE s text;
BEGIN
  FOREACH s IN ARRAY ARRAY['inventory', 'payment', 'loyalty', 'shipping'] LOOP
    PERFORM pg_temp.shipshape_prunable(format('%I.consumed_messages', s), 'consumed_at', 'shipshape_' || s);
    PERFORM pg_temp.shipshape_prunable(format('%I.outbox', s), 'created_at', 'shipshape_' || s);
    PERFORM pg_temp.shipshape_prunable(format('%I.order_claims', s), 'claimed_at', 'shipshape_' || s);
    PERFORM pg_temp.shipshape_prunable(format('%I.fenced_commands', s), 'refused_at', 'shipshape_' || s);
    -- The pruning finds old orders by their oldest commands (and notes, below).
    EXECUTE format('CREATE INDEX ON %I.consumed_messages (consumed_at)', s);
  END LOOP;
  -- Provider-call notes are deleted by the command that made the call, at any age (004): no floor.
  FOREACH s IN ARRAY ARRAY['payment', 'shipping'] LOOP
    EXECUTE format('CREATE INDEX ON %I.provider_calls (noted_at)', s);
  END LOOP;
END $$;

SELECT pg_temp.shipshape_prunable('app.dead_letters', 'last_seen', 'shipshape_reply_bridge');
CREATE INDEX ON app.dead_letters (last_seen);
