import {
  ADVISORY_STREAM,
  COMMAND_STREAM,
  DEAD_LETTER_CONSUMER,
  REPLY_BRIDGE_CONSUMER,
  REPLY_STREAM,
  serviceConsumerName,
} from '../platform/messaging/subjects';
import type { ConsumerRef } from '../platform/messaging/subjects';

/**
 * Every process of Shipshape, in one table. From it come the processes `shipshape run` starts (and
 * the chaos campaign's), the identities the local stack makes credentials for, each NATS user's
 * right to pull, the consumers setup checks and the backlog reports. Each process that runs has its
 * entry point at `workers/<name>.ts` (a deployment runs `node dist/workers/<name>.js`), which starts
 * it with the start function named there; a test holds the two together.
 */
export interface ProcessRow {
  readonly name: string;
  /** Connects to NATS and PostgreSQL as itself: a NATS user and a PostgreSQL role of its own. */
  readonly identity: boolean;
  /** The durable JetStream consumers it pulls from. */
  readonly consumes: readonly ConsumerRef[];
  /**
   * When it runs: `always` under `shipshape run` and in a deployment; `with-fake-providers` only where
   * PAYMENT_PROVIDER_URL and CARRIER_URL are unset; `with-temporal-ui` in front of a Temporal UI server
   * (the local cluster's, started with it by `shipshape stack up`, or a deployment's); `by-hand` is
   * the operator's CLI.
   */
  readonly runs: 'always' | 'with-fake-providers' | 'with-temporal-ui' | 'by-hand';
  /**
   * Where it serves GET /metrics for Prometheus: on the API's own port (behind a key with the `metrics`
   * scope), on its own METRICS_PORT, or nowhere.
   */
  readonly metrics: 'api-port' | 'metrics-port' | 'none';
  /**
   * Works off the backlog behind the accepting rather than on an order's acceptance: on a machine the
   * whole stack shares, it runs at a lower CPU priority (SHIPSHAPE_DRAIN_NICENESS), so that a peak is
   * accepted at once and drained at the pace the cores allow.
   */
  readonly drains: boolean;
  /**
   * What it does with Temporal: `client` connects (with a client certificate of its own where the
   * frontend wants one) and encrypts and decrypts payloads; `codec` holds the payload keys to decode
   * and encode for the Temporal UI but never connects; `none` neither, so it is given neither a
   * certificate nor a payload key.
   */
  readonly temporal: 'client' | 'codec' | 'none';
  /** Options for the `node` that runs it, wherever it runs (`shipshape run`, chaos, docker-compose.yml). */
  readonly nodeOptions?: readonly string[];
}

const service = <S extends 'inventory' | 'payment' | 'loyalty' | 'shipping'>(name: S) => ({
  name,
  identity: true as const,
  consumes: [[COMMAND_STREAM, serviceConsumerName(name)] as ConsumerRef],
  runs: 'always' as const,
  metrics: 'metrics-port' as const,
  drains: true,
  temporal: 'none' as const,
});

export const PROCESS_TABLE = [
  {
    name: 'api',
    identity: true,
    consumes: [],
    runs: 'always',
    metrics: 'api-port',
    drains: false,
    temporal: 'client',
    // A small young generation: each collection of it stops every request in flight, and on Node 24 it
    // grew to 64 MB, whose collections took 10-100 ms under a peak (docs/benchmarks.md).
    nodeOptions: ['--max-semi-space-size=4'],
  },
  {
    name: 'temporal-worker',
    identity: true,
    consumes: [],
    runs: 'always',
    metrics: 'metrics-port',
    drains: true,
    temporal: 'client',
    // V8 sizes a heap from the machine's memory and, on Node 24, lets each thread's young generation
    // grow to 128 MB: with a burst's orders in flight the worker (its main thread and its workflow
    // thread) held hundreds of MB of garbage. Limits make it collect sooner; what it keeps alive is
    // bounded by SHIPSHAPE_WORKFLOW_CACHE.
    nodeOptions: ['--max-old-space-size=256', '--max-semi-space-size=16'],
  },
  service('inventory'),
  service('payment'),
  service('loyalty'),
  service('shipping'),
  {
    name: 'reply-bridge',
    identity: true,
    consumes: [
      [REPLY_STREAM, REPLY_BRIDGE_CONSUMER],
      [ADVISORY_STREAM, DEAD_LETTER_CONSUMER],
    ],
    runs: 'always',
    metrics: 'metrics-port',
    drains: true,
    temporal: 'client',
  },
  {
    name: 'outbox-relay',
    identity: true,
    consumes: [],
    runs: 'always',
    metrics: 'metrics-port',
    drains: true,
    temporal: 'none',
  },
  {
    name: 'reconciler',
    identity: true,
    consumes: [],
    runs: 'always',
    metrics: 'metrics-port',
    drains: true,
    temporal: 'client',
  },
  {
    name: 'codec-server',
    identity: false,
    consumes: [],
    runs: 'always',
    metrics: 'none',
    drains: false,
    temporal: 'codec',
  },
  // The only way to the Temporal UI server: signed-in people only, writes for operators only.
  {
    name: 'ui-gate',
    identity: false,
    consumes: [],
    runs: 'with-temporal-ui',
    metrics: 'none',
    drains: false,
    temporal: 'none',
  },
  // Stands for the outside companies a service calls while it drains.
  {
    name: 'fake-providers',
    identity: false,
    consumes: [],
    runs: 'with-fake-providers',
    metrics: 'none',
    drains: true,
    temporal: 'none',
  },
  {
    name: 'cli',
    identity: true,
    consumes: [],
    runs: 'by-hand',
    metrics: 'none',
    drains: false,
    temporal: 'client',
  },
] as const satisfies readonly ProcessRow[];

type Row = (typeof PROCESS_TABLE)[number];

/** A process with an entry point under workers/. */
export type ProcessName = Exclude<Row, { runs: 'by-hand' }>['name'];
/** A process that connects under an identity of its own. */
export type ProcessIdentity = Extract<Row, { identity: true }>['name'];

/** The processes `shipshape run` starts, in order (the fake providers first, when they run). */
export const RUNNABLE_PROCESSES: readonly ProcessName[] = PROCESS_TABLE.filter(
  (p): p is Exclude<Row, { runs: 'by-hand' }> => p.runs !== 'by-hand',
).map((p) => p.name);

/** The app's processes proper, the ones `shipshape run` always starts. */
export const APP_PROCESSES: readonly ProcessName[] = PROCESS_TABLE.filter(
  (p): p is Extract<Row, { runs: 'always' }> => p.runs === 'always',
).map((p) => p.name);

export const PROCESS_IDENTITIES: readonly ProcessIdentity[] = PROCESS_TABLE.filter(
  (p): p is Extract<Row, { identity: true }> => p.identity,
).map((p) => p.name);

/** A process that connects to Temporal. */
export type TemporalClientProcess = Extract<Row, { temporal: 'client' }>['name'];
/**
 * Whoever connects to Temporal, each with a client certificate of its own: the processes that do,
 * the setup step (`admin`: search attributes, and the local cluster's namespace) and the Temporal UI server.
 */
export type TemporalIdentity = TemporalClientProcess | 'admin' | 'temporal-ui';

export const TEMPORAL_IDENTITIES: readonly TemporalIdentity[] = [
  ...PROCESS_TABLE.filter(
    (p): p is Extract<Row, { temporal: 'client' }> => p.temporal === 'client',
  ).map((p) => p.name),
  'admin',
  'temporal-ui',
];

export const isProcessIdentity = (name: string): name is ProcessIdentity =>
  (PROCESS_IDENTITIES as readonly string[]).includes(name);

const rowOf = (name: string): ProcessRow | undefined =>
  (PROCESS_TABLE as readonly ProcessRow[]).find((p) => p.name === name);

/** True for a process that works off the backlog (see ProcessRow.drains). */
export const drains = (name: string): boolean => rowOf(name)?.drains ?? false;

/** The options for the `node` that runs a process (see ProcessRow.nodeOptions). */
export const nodeOptionsOf = (name: string): readonly string[] => rowOf(name)?.nodeOptions ?? [];

/** True for a process that encrypts or decrypts payloads, and so needs the payload keys (see ProcessRow.temporal). */
export const holdsPayloadKeys = (name: string): boolean =>
  (rowOf(name)?.temporal ?? 'none') !== 'none';

/** True for a process that connects to Temporal (see ProcessRow.temporal). */
export const connectsToTemporal = (name: string): boolean => rowOf(name)?.temporal === 'client';

/** Where a process serves its metrics (see ProcessRow.metrics). */
export const metricsServedBy = (name: ProcessName): ProcessRow['metrics'] => rowOf(name)!.metrics;

/** The durable consumers a process pulls from (none for a name not in the table). */
export const consumersPulledBy = (name: string): readonly ConsumerRef[] =>
  rowOf(name)?.consumes ?? [];

/** Every durable consumer of the app. */
export const ALL_CONSUMERS: readonly ConsumerRef[] = PROCESS_TABLE.flatMap(
  (p): readonly ConsumerRef[] => p.consumes,
);
