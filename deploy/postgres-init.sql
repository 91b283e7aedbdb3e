-- Temporal keeps its own databases beside Shipshape's, owned by a role of its own: the Temporal servers
-- never log in as the superuser, and Shipshape's roles have no rights on them.
\set pw `cat /run/secrets/temporal-db-password`
CREATE ROLE temporal LOGIN PASSWORD :'pw';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;

-- Shipshape's roles (src/platform/db/roles.ts). The migrator owns the database and its schemas and runs the
-- migrations (the one-shot `setup` service); each process logs in as its own role, a member of the
-- NOLOGIN group that migration 002 grants that process's rights to. Passwords come from the secret
-- files docker-compose.yml mounts under /run/secrets (one per role, never in the environment).
\set pw `cat /run/secrets/migrator-password`
CREATE ROLE migrator LOGIN CREATEROLE PASSWORD :'pw';
ALTER DATABASE shipshape OWNER TO migrator;
\set pw `cat /run/secrets/api-password`
CREATE ROLE shipshape_api NOLOGIN;
CREATE ROLE api LOGIN PASSWORD :'pw' IN ROLE shipshape_api;
GRANT shipshape_api TO migrator WITH ADMIN OPTION;
\set pw `cat /run/secrets/temporal-worker-password`
CREATE ROLE shipshape_temporal_worker NOLOGIN;
CREATE ROLE temporal_worker LOGIN PASSWORD :'pw' IN ROLE shipshape_temporal_worker;
GRANT shipshape_temporal_worker TO migrator WITH ADMIN OPTION;
\set pw `cat /run/secrets/inventory-password`
CREATE ROLE shipshape_inventory NOLOGIN;
CREATE ROLE inventory LOGIN PASSWORD :'pw' IN ROLE shipshape_inventory;
GRANT shipshape_inventory TO migrator WITH ADMIN OPTION;
\set pw `cat /run/secrets/payment-password`
CREATE ROLE shipshape_payment NOLOGIN;
CREATE ROLE payment LOGIN PASSWORD :'pw' IN ROLE shipshape_payment;
GRANT shipshape_payment TO migrator WITH ADMIN OPTION;
\set pw `cat /run/secrets/loyalty-password`
CREATE ROLE shipshape_loyalty NOLOGIN;
CREATE ROLE loyalty LOGIN PASSWORD :'pw' IN ROLE shipshape_loyalty;
GRANT shipshape_loyalty TO migrator WITH ADMIN OPTION;
\set pw `cat /run/secrets/shipping-password`
CREATE ROLE shipshape_shipping NOLOGIN;
CREATE ROLE shipping LOGIN PASSWORD :'pw' IN ROLE shipshape_shipping;
GRANT shipshape_shipping TO migrator WITH ADMIN OPTION;
\set pw `cat /run/secrets/reply-bridge-password`
CREATE ROLE shipshape_reply_bridge NOLOGIN;
CREATE ROLE reply_bridge LOGIN PASSWORD :'pw' IN ROLE shipshape_reply_bridge;
GRANT shipshape_reply_bridge TO migrator WITH ADMIN OPTION;
\set pw `cat /run/secrets/outbox-relay-password`
CREATE ROLE shipshape_outbox_relay NOLOGIN;
CREATE ROLE outbox_relay LOGIN PASSWORD :'pw' IN ROLE shipshape_outbox_relay;
GRANT shipshape_outbox_relay TO migrator WITH ADMIN OPTION;
\set pw `cat /run/secrets/reconciler-password`
CREATE ROLE shipshape_reconciler NOLOGIN;
CREATE ROLE reconciler LOGIN PASSWORD :'pw' IN ROLE shipshape_reconciler;
GRANT shipshape_reconciler TO migrator WITH ADMIN OPTION;
\set pw `cat /run/secrets/cli-password`
CREATE ROLE shipshape_cli NOLOGIN;
CREATE ROLE cli LOGIN PASSWORD :'pw' IN ROLE shipshape_cli;
GRANT shipshape_cli TO migrator WITH ADMIN OPTION;
\unset pw
