-- Each process gets only the rights it needs, through a NOLOGIN group role per process
-- (shipshape_<process>); the login roles that belong to them are made where the passwords are known
-- (the local stack, deploy/postgres-init.sql). On a database where whoever migrates may not create
-- roles and none exist (one's own PostgreSQL with one URL for everything), the grants are skipped.

CREATE FUNCTION pg_temp.shipshape_grant(privileges text, objects text, grantee text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grantee) THEN
    EXECUTE format('GRANT %s ON %s TO %I', privileges, objects, grantee);
  END IF;
END $$;

DO $$
DECLARE
  g text;
  may_create boolean := (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
  FOREACH g IN ARRAY ARRAY['shipshape_api', 'shipshape_temporal_worker', 'shipshape_inventory',
    'shipshape_payment', 'shipshape_loyalty', 'shipshape_shipping', 'shipshape_reply_bridge',
    'shipshape_outbox_relay', 'shipshape_reconciler', 'shipshape_cli'] LOOP
    IF may_create AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = g) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', g);
    END IF;
    -- Every process checks at start that the schema is at the version it needs.
    PERFORM pg_temp.shipshape_grant('SELECT', 'public.schema_migrations', g);
  END LOOP;
END $$;

-- Services: their own schema only. consumed_messages is append-only (the record of what was done);
-- the outbox row is marked published, never deleted.
DO $$
DECLARE s text;
BEGIN
  FOREACH s IN ARRAY ARRAY['inventory', 'payment', 'loyalty', 'shipping'] LOOP
    PERFORM pg_temp.shipshape_grant('USAGE', format('SCHEMA %I', s), 'shipshape_' || s);
    PERFORM pg_temp.shipshape_grant('SELECT, INSERT', format('%I.consumed_messages', s), 'shipshape_' || s);
    PERFORM pg_temp.shipshape_grant('SELECT, INSERT, UPDATE', format('%I.outbox', s), 'shipshape_' || s);
    -- The relay publishes what a service left unsent and marks it published.
    PERFORM pg_temp.shipshape_grant('USAGE', format('SCHEMA %I', s), 'shipshape_outbox_relay');
    PERFORM pg_temp.shipshape_grant('SELECT, UPDATE (published_at)', format('%I.outbox', s), 'shipshape_outbox_relay');
    -- The Temporal worker reads a service's stored reply when it reconciles a step.
    PERFORM pg_temp.shipshape_grant('USAGE', format('SCHEMA %I', s), 'shipshape_temporal_worker');
    PERFORM pg_temp.shipshape_grant('SELECT', format('%I.outbox', s), 'shipshape_temporal_worker');
    -- The reconciler (and the CLI's reconcile) read effects to find those no workflow accounts for.
    PERFORM pg_temp.shipshape_grant('USAGE', format('SCHEMA %I', s), 'shipshape_reconciler');
    PERFORM pg_temp.shipshape_grant('USAGE', format('SCHEMA %I', s), 'shipshape_cli');
  END LOOP;
END $$;

SELECT pg_temp.shipshape_grant('SELECT, UPDATE', 'inventory.stock', 'shipshape_inventory');
SELECT pg_temp.shipshape_grant('SELECT, INSERT, UPDATE', 'inventory.reservations', 'shipshape_inventory');
SELECT pg_temp.shipshape_grant('SELECT, INSERT, UPDATE', 'payment.charges', 'shipshape_payment');
SELECT pg_temp.shipshape_grant('SELECT, INSERT', 'loyalty.ledger', 'shipshape_loyalty');
SELECT pg_temp.shipshape_grant('USAGE', 'SEQUENCE loyalty.ledger_id_seq', 'shipshape_loyalty');
SELECT pg_temp.shipshape_grant('SELECT, INSERT, UPDATE', 'shipping.shipments', 'shipshape_shipping');

-- The API: orders it accepts and reads, stock an operator sets, points and the dead-letter count it shows.
SELECT pg_temp.shipshape_grant('USAGE', 'SCHEMA app', 'shipshape_api');
SELECT pg_temp.shipshape_grant('SELECT, INSERT, UPDATE', 'app.orders', 'shipshape_api');
SELECT pg_temp.shipshape_grant('SELECT', 'app.dead_letters', 'shipshape_api');
SELECT pg_temp.shipshape_grant('USAGE', 'SCHEMA inventory', 'shipshape_api');
SELECT pg_temp.shipshape_grant('SELECT, INSERT, UPDATE', 'inventory.stock', 'shipshape_api');
SELECT pg_temp.shipshape_grant('USAGE', 'SCHEMA loyalty', 'shipshape_api');
SELECT pg_temp.shipshape_grant('SELECT', 'loyalty.ledger', 'shipshape_api');

-- The Temporal worker records orders placed straight through Temporal and each order's outcome.
SELECT pg_temp.shipshape_grant('USAGE', 'SCHEMA app', 'shipshape_temporal_worker');
SELECT pg_temp.shipshape_grant('SELECT, INSERT, UPDATE', 'app.orders', 'shipshape_temporal_worker');

-- The reply bridge's dead-letter watcher records dead letters.
SELECT pg_temp.shipshape_grant('USAGE', 'SCHEMA app', 'shipshape_reply_bridge');
SELECT pg_temp.shipshape_grant('SELECT, INSERT, UPDATE', 'app.dead_letters', 'shipshape_reply_bridge');
SELECT pg_temp.shipshape_grant('USAGE', 'SEQUENCE app.dead_letters_id_seq', 'shipshape_reply_bridge');

-- The reconciler reads orders and every service's effects; it changes nothing itself.
SELECT pg_temp.shipshape_grant('USAGE', 'SCHEMA app', 'shipshape_reconciler');
SELECT pg_temp.shipshape_grant('SELECT', 'app.orders', 'shipshape_reconciler');
SELECT pg_temp.shipshape_grant('SELECT', 'inventory.reservations, payment.charges, loyalty.ledger, shipping.shipments', 'shipshape_reconciler');

-- The CLI: lists orders, reconciles like the reconciler, lists and replays dead letters.
SELECT pg_temp.shipshape_grant('USAGE', 'SCHEMA app', 'shipshape_cli');
SELECT pg_temp.shipshape_grant('SELECT', 'app.orders', 'shipshape_cli');
SELECT pg_temp.shipshape_grant('SELECT, UPDATE', 'app.dead_letters', 'shipshape_cli');
SELECT pg_temp.shipshape_grant('SELECT', 'inventory.reservations, payment.charges, loyalty.ledger, shipping.shipments', 'shipshape_cli');

-- What must hold whatever the code does: money moves in positive amounts, and points are credited
-- by an award and taken back by a reversal, never the other way round. (Stock ≥ 0 and quantities > 0
-- are checked since 001.)
ALTER TABLE app.orders ADD CONSTRAINT orders_total_positive CHECK (total_cents > 0);
ALTER TABLE payment.charges ADD CONSTRAINT charges_amount_positive CHECK (amount_cents > 0);
ALTER TABLE loyalty.ledger ADD CONSTRAINT ledger_points_sign
  CHECK ((kind = 'award' AND points >= 0) OR (kind = 'reverse' AND points <= 0));
