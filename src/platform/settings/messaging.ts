import { integer, setting, text } from './setting';

/** NATS and JetStream: where they are, who this process is there, and how commands are delivered. */
export const messagingSettings = {
  servers: setting('NATS_SERVERS', text(), 'the NATS servers, comma-separated', {
    unset: 'the local stack: `nats://127.0.0.1:14222` (+ offset)',
  }),
  user: setting('NATS_USER', text(), "this process's NATS user", {
    unset: "the local stack's user of each process (`.shipshape/secrets.json`)",
  }),
  password: setting('NATS_PASSWORD', text(), "the NATS user's password", {
    unset: 'NATS_PASSWORD_FILE, or the local stack’s',
    secret: true,
  }),
  passwordFile: setting('NATS_PASSWORD_FILE', text(), "a file holding the NATS user's password", {
    unset: 'none',
  }),
  credsFile: setting(
    'NATS_CREDS_FILE',
    text(),
    'a NATS .creds file, instead of user and password',
    {
      unset: 'none',
    },
  ),
  tlsCa: setting('NATS_TLS_CA', text(), 'the CA to trust (PEM file): NATS over TLS', {
    unset: 'plain',
  }),
  tlsCert: setting('NATS_TLS_CERT', text(), 'a client certificate (PEM file) for mutual TLS', {
    unset: 'none',
  }),
  tlsKey: setting('NATS_TLS_KEY', text(), "the client certificate's key (PEM file)", {
    unset: 'none',
  }),
  lanes: setting(
    'SHIPSHAPE_LANES',
    integer(8, 1, 1_024),
    "orders a service or the reply bridge works on in parallel (one order's commands in turn)",
  ),
  maxDeliver: setting(
    'SHIPSHAPE_MAX_DELIVER',
    integer(20, 1, 10_000),
    'deliveries of one command before JetStream gives up on it (a dead letter)',
  ),
  ackWaitMs: setting(
    'SHIPSHAPE_ACK_WAIT_MS',
    integer(30_000, 1_000),
    'how long a delivered command may go unacknowledged before it is delivered again',
  ),
  duplicateWindowMs: setting(
    'SHIPSHAPE_DUPLICATE_WINDOW_MS',
    integer(120_000, 1_000),
    "JetStream's duplicate window: a message id seen within it is stored once",
  ),
  replicas: setting(
    'SHIPSHAPE_STREAM_REPLICAS',
    integer(1, 1, 5),
    'copies of each stream: 1 on one server, 3 on a three-node cluster (docs/scaling.md)',
  ),
  maxBytes: setting(
    'SHIPSHAPE_STREAM_MAX_BYTES',
    integer(1024 ** 3, 1024 ** 2),
    'the most bytes each stream holds (1 GiB); a full work stream refuses publishes, which are retried, and deletes nothing (docs/failures.md)',
  ),
  relayIntervalMs: setting(
    'SHIPSHAPE_RELAY_INTERVAL_MS',
    integer(1_000, 50),
    'how often the outbox relay looks for replies a service left unsent',
  ),
  relayGraceMs: setting(
    'SHIPSHAPE_RELAY_GRACE_MS',
    integer(5_000, 0),
    'how old an unsent reply must be before the relay sends it (the service itself usually does first)',
  ),
};
