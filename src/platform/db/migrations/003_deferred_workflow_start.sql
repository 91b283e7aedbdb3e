-- The API answers once an order's row is committed and starts its workflow right after, outside the
-- request; the flag marks accepted orders still waiting for theirs, for the API's sweep after a restart.
ALTER TABLE app.orders ADD COLUMN start_pending boolean NOT NULL DEFAULT false;
CREATE INDEX orders_start_pending_idx ON app.orders (created_at) WHERE start_pending;
