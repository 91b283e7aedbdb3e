-- A service's tables are read and written by that service alone (and the outbox relay, the services'
-- courier, which reads their outboxes): the API, the Temporal worker, the reconciler and the CLI ask
-- the service over NATS instead (src/services/core/queries.ts). What 002 granted them in the
-- services' schemas is taken back, so the database refuses what the code no longer does.
CREATE FUNCTION pg_temp.shipshape_revoke(privileges text, objects text, grantee text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grantee) THEN
    EXECUTE format('REVOKE %s ON %s FROM %I', privileges, objects, grantee);
  END IF;
END $$;

CREATE FUNCTION pg_temp.shipshape_grant_if_role(privileges text, objects text, grantee text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grantee) THEN
    EXECUTE format('GRANT %s ON %s TO %I', privileges, objects, grantee);
  END IF;
END $$;

-- The API sets and reads stock through inventory (which now creates a SKU an operator sets first)
-- and reads points through loyalty.
SELECT pg_temp.shipshape_grant_if_role('INSERT', 'inventory.stock', 'shipshape_inventory');
SELECT pg_temp.shipshape_revoke('ALL', 'inventory.stock', 'shipshape_api');
SELECT pg_temp.shipshape_revoke('ALL', 'loyalty.ledger', 'shipshape_api');

DO $$
DECLARE
  s text;
  r text;
BEGIN
  FOREACH s IN ARRAY ARRAY['inventory', 'payment', 'loyalty', 'shipping'] LOOP
    -- The worker asks a service for its record of a command when it reconciles a step.
    PERFORM pg_temp.shipshape_revoke('ALL', format('%I.outbox', s), 'shipshape_temporal_worker');
    FOREACH r IN ARRAY ARRAY['shipshape_api', 'shipshape_temporal_worker', 'shipshape_reconciler',
      'shipshape_cli'] LOOP
      PERFORM pg_temp.shipshape_revoke('USAGE', format('SCHEMA %I', s), r);
    END LOOP;
  END LOOP;
END $$;

-- The reconciler (and the CLI's reconcile) ask each service what it still holds of ended orders.
SELECT pg_temp.shipshape_revoke('ALL',
  'inventory.reservations, payment.charges, loyalty.ledger, shipping.shipments', 'shipshape_reconciler');
SELECT pg_temp.shipshape_revoke('ALL',
  'inventory.reservations, payment.charges, loyalty.ledger, shipping.shipments', 'shipshape_cli');
