-- Orders as the API accepted them, and their final state once the workflow ends.
CREATE SCHEMA IF NOT EXISTS app;

CREATE TABLE app.orders (
  order_id        text PRIMARY KEY,
  workflow_id     text NOT NULL UNIQUE,
  customer_id     text NOT NULL,
  idempotency_key text UNIQUE,
  status          text NOT NULL,
  total_cents     bigint NOT NULL CHECK (total_cents >= 0),
  currency        text NOT NULL,
  request         jsonb NOT NULL,
  steps           jsonb,
  failure_reason  text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_customer_idx ON app.orders (customer_id);
CREATE INDEX orders_status_idx ON app.orders (status, updated_at);

-- Messages that exhausted their deliveries or were terminated as unprocessable, read back from
-- the stream by sequence when JetStream's advisory arrives.
CREATE TABLE app.dead_letters (
  id             bigserial PRIMARY KEY,
  stream         text NOT NULL,
  stream_seq     bigint NOT NULL,
  consumer       text NOT NULL,
  subject        text NOT NULL,
  headers        jsonb NOT NULL DEFAULT '{}',
  payload        text NOT NULL,
  error          text NOT NULL,
  delivery_count integer NOT NULL,
  order_id       text,
  command_id     text,
  status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed')),
  first_seen     timestamptz NOT NULL DEFAULT now(),
  last_seen      timestamptz NOT NULL DEFAULT now(),
  replayed_at    timestamptz,
  UNIQUE (stream, stream_seq)
);
CREATE INDEX dead_letters_order_idx ON app.dead_letters (order_id);

-- Each service owns one schema: its effect tables, its consumed-messages table
-- (the unique command id is the exactly-once guarantee) and its reply outbox.
CREATE SCHEMA IF NOT EXISTS inventory;
CREATE SCHEMA IF NOT EXISTS payment;
CREATE SCHEMA IF NOT EXISTS loyalty;
CREATE SCHEMA IF NOT EXISTS shipping;

DO $$
DECLARE s text;
BEGIN
  FOREACH s IN ARRAY ARRAY['inventory', 'payment', 'loyalty', 'shipping'] LOOP
    EXECUTE format($f$
      CREATE TABLE %I.consumed_messages (
        command_id   text PRIMARY KEY,
        command_type text NOT NULL,
        order_id     text NOT NULL,
        seq          integer NOT NULL,
        -- 'applied', 'rejected' (a business refusal) or 'stale' (a newer command of the order came first)
        outcome      text NOT NULL,
        reply_id     text NOT NULL,
        consumed_at  timestamptz NOT NULL DEFAULT now()
      )$f$, s);
    EXECUTE format('CREATE INDEX ON %I.consumed_messages (order_id, seq)', s);
    EXECUTE format($f$
      CREATE TABLE %I.outbox (
        reply_id     text PRIMARY KEY,
        command_id   text NOT NULL UNIQUE,
        subject      text NOT NULL,
        payload      jsonb NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )$f$, s);
    EXECUTE format('CREATE INDEX ON %I.outbox (created_at) WHERE published_at IS NULL', s);
  END LOOP;
END $$;

CREATE TABLE inventory.stock (
  sku        text PRIMARY KEY,
  available  integer NOT NULL CHECK (available >= 0),
  reserved   integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- What one order holds; state moves reserved -> committed (left stock for good) or released.
CREATE TABLE inventory.reservations (
  order_id   text NOT NULL,
  sku        text NOT NULL,
  quantity   integer NOT NULL CHECK (quantity > 0),
  state      text NOT NULL CHECK (state IN ('reserved', 'committed', 'released')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, sku)
);

CREATE TABLE payment.charges (
  order_id     text PRIMARY KEY,
  command_id   text NOT NULL UNIQUE,
  charge_id    text,
  amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
  currency     text NOT NULL,
  customer_id  text NOT NULL,
  status       text NOT NULL CHECK (status IN ('charged', 'declined', 'refunded')),
  refund_id    text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE loyalty.ledger (
  id          bigserial PRIMARY KEY,
  customer_id text NOT NULL,
  order_id    text NOT NULL,
  command_id  text NOT NULL UNIQUE,
  kind        text NOT NULL CHECK (kind IN ('award', 'reverse')),
  points      integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (order_id, kind)
);
-- Points may not be reversed more than they were credited, per order: checked by the service in its transaction.
CREATE INDEX ledger_customer_idx ON loyalty.ledger (customer_id);

CREATE TABLE shipping.shipments (
  order_id        text PRIMARY KEY,
  command_id      text NOT NULL UNIQUE,
  shipment_id     text,
  tracking_number text,
  status          text NOT NULL CHECK (status IN ('created', 'rejected', 'cancelled')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
