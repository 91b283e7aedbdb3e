import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from './paths';
import { parseCrashPoints } from './crash-point-spec';
import type { CrashPointRule } from './crash-point-spec';
import { ApiKeyError, parseApiKeys } from './security/api-keys';
import type { ApiKey } from './security/api-keys';
import { parsePayloadKeys, PayloadKeyError } from './temporal/payload-keys';
import type { PayloadKey } from './temporal/payload-keys';

/**
 * Every setting Shipshape reads, parsed once. This module is the only reader of `process.env`.
 * With nothing set, the addresses point at the local stack that `shipshape stack up` starts.
 */

const intFromEnv = (name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return def;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be an integer from ${min} to ${max}, got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    });

const urlFromEnv = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      try {
        const u = new URL(v);
        return u.toString().replace(/\/$/, '');
      } catch {
        ctx.addIssue({ code: 'custom', message: `${name} must be a URL, got "${v}"` });
        return z.NEVER;
      }
    });

/** How the local stack runs Temporal: the CLI's dev server, or a two-node cluster on PostgreSQL. */
export const TEMPORAL_MODES = ['dev', 'cluster'] as const;
export type TemporalMode = (typeof TEMPORAL_MODES)[number];

/** A Temporal mode by name; undefined for an unknown one. */
export function temporalModeNamed(v: string): TemporalMode | undefined {
  return (TEMPORAL_MODES as readonly string[]).includes(v) ? (v as TemporalMode) : undefined;
}

const envSchema = z.object({
  SHIPSHAPE_STACK_DIR: z.string().optional(),
  SHIPSHAPE_TEMPORAL: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      const mode = temporalModeNamed(v);
      if (!mode) {
        ctx.addIssue({
          code: 'custom',
          message: `SHIPSHAPE_TEMPORAL must be one of ${TEMPORAL_MODES.join(', ')}, got "${v}"`,
        });
        return z.NEVER;
      }
      return mode;
    }),
  SHIPSHAPE_BIN_CACHE: z.string().optional(),
  XDG_CACHE_HOME: z.string().optional(),
  SHIPSHAPE_PORT_OFFSET: intFromEnv('SHIPSHAPE_PORT_OFFSET', 0, 0, 20000),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('shipshape-orders'),
  TEMPORAL_UI_URL: urlFromEnv('TEMPORAL_UI_URL'),
  NATS_SERVERS: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  PAYMENT_PROVIDER_URL: urlFromEnv('PAYMENT_PROVIDER_URL'),
  CARRIER_URL: urlFromEnv('CARRIER_URL'),
  PORT: intFromEnv('PORT', -1, 1, 65535).optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_PORT: intFromEnv('METRICS_PORT', 0, 0, 65535),
  OTEL_EXPORTER_OTLP_ENDPOINT: urlFromEnv('OTEL_EXPORTER_OTLP_ENDPOINT'),
  SHIPSHAPE_LANES: intFromEnv('SHIPSHAPE_LANES', 8, 1, 1024),
  SHIPSHAPE_DRAIN_NICENESS: intFromEnv('SHIPSHAPE_DRAIN_NICENESS', 10, 0, 19),
  SHIPSHAPE_ACTIVITY_SLOTS: intFromEnv('SHIPSHAPE_ACTIVITY_SLOTS', 100, 1, 10000),
  SHIPSHAPE_WORKFLOW_TASK_SLOTS: intFromEnv('SHIPSHAPE_WORKFLOW_TASK_SLOTS', 40, 2, 10000),
  SHIPSHAPE_WORKFLOW_CACHE: intFromEnv('SHIPSHAPE_WORKFLOW_CACHE', 500, 2, 100000),
  SHIPSHAPE_PAYMENT_RATE_PER_SEC: intFromEnv('SHIPSHAPE_PAYMENT_RATE_PER_SEC', 0, 0, 100000),
  SHIPSHAPE_CARRIER_RATE_PER_SEC: intFromEnv('SHIPSHAPE_CARRIER_RATE_PER_SEC', 0, 0, 100000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHIPSHAPE_STEP_TIMEOUT_MS: intFromEnv('SHIPSHAPE_STEP_TIMEOUT_MS', 30_000, 100),
  SHIPSHAPE_STEP_MAX_SENDS: intFromEnv('SHIPSHAPE_STEP_MAX_SENDS', 5, 1, 1000),
  SHIPSHAPE_COMPENSATION_ROUNDS: intFromEnv('SHIPSHAPE_COMPENSATION_ROUNDS', 3, 1, 1000),
  SHIPSHAPE_LOYALTY_RETRY_MS: intFromEnv('SHIPSHAPE_LOYALTY_RETRY_MS', 60_000, 100),
  SHIPSHAPE_PROVIDER_TIMEOUT_MS: intFromEnv('SHIPSHAPE_PROVIDER_TIMEOUT_MS', 5_000, 50),
  SHIPSHAPE_MAX_DELIVER: intFromEnv('SHIPSHAPE_MAX_DELIVER', 20, 1, 10000),
  SHIPSHAPE_ACK_WAIT_MS: intFromEnv('SHIPSHAPE_ACK_WAIT_MS', 30_000, 1000),
  SHIPSHAPE_DUPLICATE_WINDOW_MS: intFromEnv('SHIPSHAPE_DUPLICATE_WINDOW_MS', 120_000, 1000),
  SHIPSHAPE_STREAM_REPLICAS: intFromEnv('SHIPSHAPE_STREAM_REPLICAS', 1, 1, 5),
  SHIPSHAPE_STREAM_MAX_BYTES: intFromEnv('SHIPSHAPE_STREAM_MAX_BYTES', 1024 ** 3, 1024 ** 2),
  SHIPSHAPE_RECONCILE_PERIOD_MS: intFromEnv('SHIPSHAPE_RECONCILE_PERIOD_MS', 30_000, 100),
  SHIPSHAPE_RECONCILE_THRESHOLD_MS: intFromEnv('SHIPSHAPE_RECONCILE_THRESHOLD_MS', 120_000, 0),
  SHIPSHAPE_RECONCILE_MAX: intFromEnv('SHIPSHAPE_RECONCILE_MAX', 100, 1, 100000),
  SHIPSHAPE_CLEANUP_PERIOD_MS: intFromEnv('SHIPSHAPE_CLEANUP_PERIOD_MS', 5_000, 100),
  SHIPSHAPE_MAX_CLEANUPS: intFromEnv('SHIPSHAPE_MAX_CLEANUPS', 3, 1, 1000),
  SHIPSHAPE_FAILING_TASK_ATTEMPTS: intFromEnv('SHIPSHAPE_FAILING_TASK_ATTEMPTS', 3, 2, 1000),
  SHIPSHAPE_NAMESPACE_RETENTION_HOURS: intFromEnv('SHIPSHAPE_NAMESPACE_RETENTION_HOURS', 168, 1),
  SHIPSHAPE_ORDER_LIFETIME_HOURS: intFromEnv('SHIPSHAPE_ORDER_LIFETIME_HOURS', 168, 1),
  SHIPSHAPE_COMMAND_RETENTION_HOURS: intFromEnv('SHIPSHAPE_COMMAND_RETENTION_HOURS', 720, 1),
  SHIPSHAPE_DEAD_LETTER_RETENTION_HOURS: intFromEnv(
    'SHIPSHAPE_DEAD_LETTER_RETENTION_HOURS',
    720,
    1,
  ),
  SHIPSHAPE_PRUNE_PERIOD_MS: intFromEnv('SHIPSHAPE_PRUNE_PERIOD_MS', 600_000, 1_000),
  SHIPSHAPE_RELAY_INTERVAL_MS: intFromEnv('SHIPSHAPE_RELAY_INTERVAL_MS', 1_000, 50),
  SHIPSHAPE_RELAY_GRACE_MS: intFromEnv('SHIPSHAPE_RELAY_GRACE_MS', 5_000, 0),
  SHIPSHAPE_CRASH_POINTS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseCrashPoints(v);
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: `SHIPSHAPE_CRASH_POINTS: ${(err as Error).message}`,
        });
        return z.NEVER;
      }
    }),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  NATS_PASSWORD_FILE: z.string().optional(),
  NATS_CREDS_FILE: z.string().optional(),
  NATS_TLS_CA: z.string().optional(),
  NATS_TLS_CERT: z.string().optional(),
  NATS_TLS_KEY: z.string().optional(),
  DATABASE_PASSWORD_FILE: z.string().optional(),
  MIGRATION_DATABASE_URL: z.string().optional(),
  DATABASE_STATEMENT_TIMEOUT_MS: intFromEnv('DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 0),
  DATABASE_IDLE_TX_TIMEOUT_MS: intFromEnv('DATABASE_IDLE_TX_TIMEOUT_MS', 60_000, 0),
  SHIPSHAPE_API_KEYS: z.string().optional(),
  SHIPSHAPE_API_KEYS_FILE: z.string().optional(),
  SHIPSHAPE_API_KEY: z.string().optional(),
  SHIPSHAPE_API_RATE_PER_MIN: intFromEnv('SHIPSHAPE_API_RATE_PER_MIN', 6000, 0, 10_000_000),
  SHIPSHAPE_API_ANONYMOUS_RATE_PER_MIN: intFromEnv(
    'SHIPSHAPE_API_ANONYMOUS_RATE_PER_MIN',
    60,
    0,
    10_000_000,
  ),
  SHIPSHAPE_PAYLOAD_KEYS: z.string().optional(),
  SHIPSHAPE_PAYLOAD_KEYS_FILE: z.string().optional(),
  SHIPSHAPE_DATA_KEYS: z.string().optional(),
  SHIPSHAPE_DATA_KEYS_FILE: z.string().optional(),
  SHIPSHAPE_SIGNING_KEY_FILE: z.string().optional(),
  SHIPSHAPE_TRUSTED_SIGNERS: z.string().optional(),
  SHIPSHAPE_TRUSTED_SIGNERS_FILE: z.string().optional(),
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  TEMPORAL_TLS_CA: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  TEMPORAL_API_KEY: z.string().optional(),
  CODEC_PORT: intFromEnv('CODEC_PORT', -1, 1, 65535).optional(),
  CODEC_TLS_CERT: z.string().optional(),
  CODEC_TLS_KEY: z.string().optional(),
  UI_GATE_PORT: intFromEnv('UI_GATE_PORT', -1, 1, 65535).optional(),
  TEMPORAL_UI_UPSTREAM: urlFromEnv('TEMPORAL_UI_UPSTREAM'),
});

/** Every environment variable Shipshape reads (a deployment's settings are checked against it). */
export const KNOWN_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/** Ports of the local stack, shifted together by SHIPSHAPE_PORT_OFFSET so two stacks can coexist. */
export interface StackPorts {
  temporal: number;
  temporalUi: number;
  temporalHttp: number;
  temporalMetrics: number;
  /**
   * The first of the local Temporal cluster's ports (`--temporal cluster`): its two nodes take the 20
   * from here, a test's own cluster the 21 after those. Kept apart from every other stack port, and
   * under 50 in all, so stacks 50 offsets apart never share one.
   */
  temporalCluster: number;
  nats: number;
  natsMonitor: number;
  postgres: number;
  api: number;
  fakePayment: number;
  fakeCarrier: number;
  /** The codec server the Temporal UI decodes payloads through. */
  codecServer: number;
  /**
   * The Temporal UI server beside the local cluster, reached only through the UI gate, which takes
   * `temporalUi` (the dev server serves its own UI there).
   */
  temporalUiServer: number;
  /** `shipshape run` gives each worker process its own metrics port from here up. */
  metricsBase: number;
}

export function stackPorts(offset: number): StackPorts {
  return {
    temporal: 17233 + offset,
    temporalUi: 18233 + offset,
    temporalHttp: 17243 + offset,
    temporalMetrics: 17253 + offset,
    temporalCluster: 16000 + offset,
    nats: 14222 + offset,
    natsMonitor: 18222 + offset,
    postgres: 15432 + offset,
    api: 13000 + offset,
    fakePayment: 18081 + offset,
    fakeCarrier: 18082 + offset,
    codecServer: 18234 + offset,
    temporalUiServer: 18235 + offset,
    metricsBase: 19100 + offset,
  };
}

export interface Config {
  stack: {
    dir: string;
    ports: StackPorts;
    managesPostgres: boolean;
    /**
     * SHIPSHAPE_TEMPORAL (or `stack up --temporal`): how the stack runs Temporal when it starts it.
     * Unset, a stack already running keeps its mode, and a new one gets the dev server.
     */
    temporal: TemporalMode | undefined;
    /** Where built binaries (Temporal CLI, server and UI; nats-server) are kept, outside the repo so clones reuse them. */
    binCacheDir: string;
  };
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    uiUrl: string;
    /** PEM files for TLS to a remote Temporal (read when connecting: src/platform/temporal/connection.ts); unset, plain. */
    tls: { certFile?: string; keyFile?: string; caFile?: string; serverName?: string } | undefined;
    /** Temporal Cloud API key (sent as a bearer token, over TLS). */
    apiKey: string | undefined;
  };
  /**
   * Payload encryption keys: SHIPSHAPE_PAYLOAD_KEYS parsed (the first encrypts), or the file
   * SHIPSHAPE_PAYLOAD_KEYS_FILE names (read when connecting: src/platform/temporal/configured-payload-keys.ts). Neither
   * set: the local stack's key.
   */
  payloadEncryption: { keys: PayloadKey[] | undefined; keysFile: string | undefined };
  /**
   * Signatures on what the API, the reply bridge and the reconciler send to workflows: the signer's
   * own key (a file: SHIPSHAPE_SIGNING_KEY_FILE) and the public keys the worker trusts
   * (SHIPSHAPE_TRUSTED_SIGNERS or its file). Read when connecting
   * (src/platform/temporal/configured-signing-keys.ts); unset, the local stack's.
   */
  signing: {
    keyFile: string | undefined;
    trusted: string | undefined;
    trustedFile: string | undefined;
  };
  /**
   * The keys that seal personal data (src/platform/security/personal-data.ts): SHIPSHAPE_DATA_KEYS
   * (`id:base64-32-bytes,…`, the first seals) or its file, read when a process that seals or opens
   * starts (the API, the shipping service, the client library); unset, the local stack's.
   */
  dataKeys: { spec: string | undefined; file: string | undefined };
  /**
   * The codec server (decodes payloads for the Temporal UI); listens on `api.host`, over HTTPS when
   * given a certificate and its key (PEM files, read when it starts).
   */
  codecServer: { port: number; tls: { certFile: string; keyFile: string } | undefined };
  /**
   * The gate in front of the Temporal UI server (src/platform/temporal/ui-gate.ts): where it listens
   * (on `api.host`), and the UI server it lets signed-in people through to.
   */
  uiGate: { port: number; upstream: string };
  nats: {
    servers: string[];
    /** This process's NATS user and password (or a password file, or a .creds file); unset, the local stack's per-process users. */
    user: string | undefined;
    password: string | undefined;
    passwordFile: string | undefined;
    credsFile: string | undefined;
    /** PEM files: the CA to trust, and a client certificate and key for mutual TLS. */
    tls: { ca: string | undefined; cert: string | undefined; key: string | undefined };
  };
  database: {
    url: string;
    /** Read when connecting, used when `url` carries no password. */
    passwordFile: string | undefined;
    /** The migration role's URL for `shipshape setup`; unset, `url` (or the local stack's migrator). */
    migrationUrl: string | undefined;
    /** Every pooled session's statement_timeout and idle_in_transaction_session_timeout; 0 is none. */
    statementTimeoutMs: number;
    idleInTransactionTimeoutMs: number;
  };
  providers: {
    paymentUrl: string;
    carrierUrl: string;
    /** True when the URLs point at the fake providers that `shipshape run` starts itself. */
    useFakes: boolean;
    timeoutMs: number;
    /** Calls per second to each provider; 0 is unlimited. */
    paymentRatePerSec: number;
    carrierRatePerSec: number;
  };
  api: {
    port: number;
    host: string;
    /**
     * Keys the API accepts: SHIPSHAPE_API_KEYS parsed, plus the file SHIPSHAPE_API_KEYS_FILE names
     * (read when the API starts: src/platform/security/credentials.ts). Neither set: the local stack's keys.
     */
    keys: ApiKey[] | undefined;
    keysFile: string | undefined;
    /** The key the CLI and the demo send (SHIPSHAPE_API_KEY); unset, the local stack's operator key. */
    callerKey: string | undefined;
    /** Requests per minute per key; 0 is unlimited. */
    ratePerMin: number;
    /** Requests per minute per address without a valid key (a wrong one, none); 0 is unlimited. */
    anonymousRatePerMin: number;
  };
  /** Where a worker process serves GET /metrics; 0 serves none (the API serves its own on its port). */
  metricsPort: number;
  /** Where traces go (OTLP over HTTP); unset, tracing is off. */
  otlpEndpoint: string | undefined;
  /** Orders a service or the reply bridge works on in parallel (key-ordered lanes). */
  lanes: number;
  /**
   * The niceness `shipshape run` and the local stack give the processes that drain the backlog (Temporal,
   * its worker, the services, NATS…), so that accepting orders wins the cores on a shared machine; 0
   * runs everything alike.
   */
  drainNiceness: number;
  /**
   * The Temporal worker's concurrent activities and workflow tasks, and the workflows it keeps in
   * memory between their tasks (one evicted replays its history at its next task).
   */
  worker: { activitySlots: number; workflowTaskSlots: number; cachedWorkflows: number };
  logLevel: string;
  /** Passed to each order's workflow when it starts (workflows read no environment). */
  workflow: {
    stepTimeoutMs: number;
    stepMaxSends: number;
    duplicateWindowMs: number;
    compensationRounds: number;
    loyaltyRetryMs: number;
  };
  messaging: {
    maxDeliver: number;
    ackWaitMs: number;
    duplicateWindowMs: number;
    /** Copies of each stream (consumers follow their stream): 1 on one server, 3 on a three-node cluster. */
    replicas: number;
    /** The most bytes each stream holds; a full work stream refuses publishes until work is done. */
    maxBytes: number;
  };
  relay: { intervalMs: number; graceMs: number };
  /**
   * How long what deduplicates is kept, and how often it is pruned (docs/failures.md, "Bounded data").
   * A command of an order may arrive for as long as Temporal keeps a run of it that an operator could
   * reset (a reset sends the run's commands again): the namespace's retention after the order ended,
   * plus the longest an order lives. That sum is `minimumHours`, the least each retention may be.
   */
  retention: {
    namespaceHours: number;
    orderLifetimeHours: number;
    minimumHours: number;
    /** A service's record of an order's commands, pruned whole once all of it is this old. */
    commandHours: number;
    deadLetterHours: number;
    /**
     * How long a dead letter may be replayed: the services surely still know its order, whose record
     * may be as old as the order (`commandHours` − `orderLifetimeHours`). Older, a replay could redo.
     */
    replayableHours: number;
    prunePeriodMs: number;
  };
  /**
   * The reconciler: how often it makes a full round and how often it looks for runs that closed
   * unfinished, how long without progress counts as stuck, how many orders per round, how many
   * cleanups one order gets, and after how many attempts an open run's workflow task counts as failing.
   */
  reconciler: {
    periodMs: number;
    cleanupPeriodMs: number;
    thresholdMs: number;
    maxPerRound: number;
    maxCleanups: number;
    failingTaskAttempts: number;
  };
  /** Named points where this process kills itself, for the chaos campaign; empty in normal use. */
  crashPoints: CrashPointRule[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function inlineApiKeys(spec: string | undefined): ApiKey[] | undefined {
  if (spec === undefined || spec.trim() === '') return undefined;
  try {
    return parseApiKeys(spec, 'SHIPSHAPE_API_KEYS');
  } catch (err) {
    if (err instanceof ApiKeyError) throw new ConfigError(`invalid configuration: ${err.message}`);
    throw err;
  }
}

function inlinePayloadKeys(
  spec: string | undefined,
  file: string | undefined,
): PayloadKey[] | undefined {
  if (spec === undefined || spec.trim() === '') return undefined;
  if (file)
    throw new ConfigError(
      'invalid configuration: set SHIPSHAPE_PAYLOAD_KEYS or SHIPSHAPE_PAYLOAD_KEYS_FILE, not both (the first key listed encrypts)',
    );
  try {
    return parsePayloadKeys(spec, 'SHIPSHAPE_PAYLOAD_KEYS');
  } catch (err) {
    if (err instanceof PayloadKeyError)
      throw new ConfigError(`invalid configuration: ${err.message}`);
    throw err;
  }
}

/** Remote Temporal over TLS: a client certificate needs its key (and the other way round). */
function temporalTlsSettings(e: {
  TEMPORAL_TLS_CERT?: string;
  TEMPORAL_TLS_KEY?: string;
  TEMPORAL_TLS_CA?: string;
  TEMPORAL_TLS_SERVER_NAME?: string;
}): Config['temporal']['tls'] {
  const certFile = e.TEMPORAL_TLS_CERT || undefined;
  const keyFile = e.TEMPORAL_TLS_KEY || undefined;
  const caFile = e.TEMPORAL_TLS_CA || undefined;
  const serverName = e.TEMPORAL_TLS_SERVER_NAME || undefined;
  if (certFile && !keyFile)
    throw new ConfigError(
      'invalid configuration: TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY (mTLS needs both)',
    );
  if (keyFile && !certFile)
    throw new ConfigError(
      'invalid configuration: TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT (mTLS needs both)',
    );
  if (!certFile && !caFile && !serverName) return undefined;
  return {
    ...(certFile ? { certFile, keyFile } : {}),
    ...(caFile ? { caFile } : {}),
    ...(serverName ? { serverName } : {}),
  };
}

/** The retentions, each refused when shorter than what deduplication needs, naming that minimum. */
function retentionSettings(e: {
  SHIPSHAPE_NAMESPACE_RETENTION_HOURS: number;
  SHIPSHAPE_ORDER_LIFETIME_HOURS: number;
  SHIPSHAPE_COMMAND_RETENTION_HOURS: number;
  SHIPSHAPE_DEAD_LETTER_RETENTION_HOURS: number;
  SHIPSHAPE_PRUNE_PERIOD_MS: number;
}): Config['retention'] {
  const minimumHours = e.SHIPSHAPE_NAMESPACE_RETENTION_HOURS + e.SHIPSHAPE_ORDER_LIFETIME_HOURS;
  const tooShort = (
    ['SHIPSHAPE_COMMAND_RETENTION_HOURS', 'SHIPSHAPE_DEAD_LETTER_RETENTION_HOURS'] as const
  ).filter((name) => e[name] < minimumHours);
  if (tooShort.length)
    throw new ConfigError(
      `invalid configuration:\n${tooShort
        .map(
          (name) =>
            `  ${name}: ${e[name]} h is shorter than deduplication needs: at least ${minimumHours} h, ` +
            `SHIPSHAPE_NAMESPACE_RETENTION_HOURS (${e.SHIPSHAPE_NAMESPACE_RETENTION_HOURS}) + ` +
            `SHIPSHAPE_ORDER_LIFETIME_HOURS (${e.SHIPSHAPE_ORDER_LIFETIME_HOURS}), since a reset re-sends ` +
            `an order's commands for as long as Temporal keeps its run`,
        )
        .join('\n')}`,
    );
  return {
    namespaceHours: e.SHIPSHAPE_NAMESPACE_RETENTION_HOURS,
    orderLifetimeHours: e.SHIPSHAPE_ORDER_LIFETIME_HOURS,
    minimumHours,
    commandHours: e.SHIPSHAPE_COMMAND_RETENTION_HOURS,
    deadLetterHours: e.SHIPSHAPE_DEAD_LETTER_RETENTION_HOURS,
    replayableHours: e.SHIPSHAPE_COMMAND_RETENTION_HOURS - e.SHIPSHAPE_ORDER_LIFETIME_HOURS,
    prunePeriodMs: e.SHIPSHAPE_PRUNE_PERIOD_MS,
  };
}

/** The codec server's own certificate: both files or neither. */
function codecTlsSettings(e: {
  CODEC_TLS_CERT?: string;
  CODEC_TLS_KEY?: string;
}): Config['codecServer']['tls'] {
  const certFile = e.CODEC_TLS_CERT || undefined;
  const keyFile = e.CODEC_TLS_KEY || undefined;
  if (Boolean(certFile) !== Boolean(keyFile))
    throw new ConfigError(
      `invalid configuration: ${certFile ? 'CODEC_TLS_CERT is set without CODEC_TLS_KEY' : 'CODEC_TLS_KEY is set without CODEC_TLS_CERT'} (HTTPS needs both)`,
    );
  return certFile && keyFile ? { certFile, keyFile } : undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const ports = stackPorts(e.SHIPSHAPE_PORT_OFFSET);
  const dir = path.resolve(projectRoot, e.SHIPSHAPE_STACK_DIR ?? '.shipshape');
  const paymentUrl = e.PAYMENT_PROVIDER_URL ?? `http://127.0.0.1:${ports.fakePayment}`;
  const carrierUrl = e.CARRIER_URL ?? `http://127.0.0.1:${ports.fakeCarrier}`;
  const apiPort = e.PORT !== undefined && e.PORT !== -1 ? e.PORT : ports.api;
  return {
    stack: {
      dir,
      ports,
      managesPostgres: !e.DATABASE_URL,
      temporal: e.SHIPSHAPE_TEMPORAL,
      binCacheDir:
        e.SHIPSHAPE_BIN_CACHE ??
        path.join(e.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'shipshape', 'bin'),
    },
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? `127.0.0.1:${ports.temporal}`,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL ?? `http://127.0.0.1:${ports.temporalUi}`,
      tls: temporalTlsSettings(e),
      apiKey: e.TEMPORAL_API_KEY || undefined,
    },
    payloadEncryption: {
      keys: inlinePayloadKeys(e.SHIPSHAPE_PAYLOAD_KEYS, e.SHIPSHAPE_PAYLOAD_KEYS_FILE),
      keysFile: e.SHIPSHAPE_PAYLOAD_KEYS_FILE || undefined,
    },
    dataKeys: {
      spec: e.SHIPSHAPE_DATA_KEYS || undefined,
      file: e.SHIPSHAPE_DATA_KEYS_FILE || undefined,
    },
    signing: {
      keyFile: e.SHIPSHAPE_SIGNING_KEY_FILE || undefined,
      trusted: e.SHIPSHAPE_TRUSTED_SIGNERS || undefined,
      trustedFile: e.SHIPSHAPE_TRUSTED_SIGNERS_FILE || undefined,
    },
    codecServer: {
      port: e.CODEC_PORT !== undefined && e.CODEC_PORT !== -1 ? e.CODEC_PORT : ports.codecServer,
      tls: codecTlsSettings(e),
    },
    uiGate: {
      port:
        e.UI_GATE_PORT !== undefined && e.UI_GATE_PORT !== -1 ? e.UI_GATE_PORT : ports.temporalUi,
      upstream: e.TEMPORAL_UI_UPSTREAM ?? `http://127.0.0.1:${ports.temporalUiServer}`,
    },
    nats: {
      servers: (e.NATS_SERVERS ?? `nats://127.0.0.1:${ports.nats}`)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      user: e.NATS_USER || undefined,
      password: e.NATS_PASSWORD || undefined,
      passwordFile: e.NATS_PASSWORD_FILE || undefined,
      credsFile: e.NATS_CREDS_FILE || undefined,
      tls: {
        ca: e.NATS_TLS_CA || undefined,
        cert: e.NATS_TLS_CERT || undefined,
        key: e.NATS_TLS_KEY || undefined,
      },
    },
    database: {
      url: e.DATABASE_URL ?? `postgres://shipshape@127.0.0.1:${ports.postgres}/shipshape`,
      passwordFile: e.DATABASE_PASSWORD_FILE || undefined,
      migrationUrl: e.MIGRATION_DATABASE_URL || undefined,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      idleInTransactionTimeoutMs: e.DATABASE_IDLE_TX_TIMEOUT_MS,
    },
    providers: {
      paymentUrl,
      carrierUrl,
      useFakes: !e.PAYMENT_PROVIDER_URL || !e.CARRIER_URL,
      timeoutMs: e.SHIPSHAPE_PROVIDER_TIMEOUT_MS,
      paymentRatePerSec: e.SHIPSHAPE_PAYMENT_RATE_PER_SEC,
      carrierRatePerSec: e.SHIPSHAPE_CARRIER_RATE_PER_SEC,
    },
    api: {
      port: apiPort,
      host: e.HOST,
      keys: inlineApiKeys(e.SHIPSHAPE_API_KEYS),
      keysFile: e.SHIPSHAPE_API_KEYS_FILE || undefined,
      callerKey: e.SHIPSHAPE_API_KEY || undefined,
      ratePerMin: e.SHIPSHAPE_API_RATE_PER_MIN,
      anonymousRatePerMin: e.SHIPSHAPE_API_ANONYMOUS_RATE_PER_MIN,
    },
    metricsPort: e.METRICS_PORT,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    lanes: e.SHIPSHAPE_LANES,
    drainNiceness: e.SHIPSHAPE_DRAIN_NICENESS,
    worker: {
      activitySlots: e.SHIPSHAPE_ACTIVITY_SLOTS,
      workflowTaskSlots: e.SHIPSHAPE_WORKFLOW_TASK_SLOTS,
      cachedWorkflows: e.SHIPSHAPE_WORKFLOW_CACHE,
    },
    logLevel: e.LOG_LEVEL,
    workflow: {
      stepTimeoutMs: e.SHIPSHAPE_STEP_TIMEOUT_MS,
      stepMaxSends: e.SHIPSHAPE_STEP_MAX_SENDS,
      duplicateWindowMs: e.SHIPSHAPE_DUPLICATE_WINDOW_MS,
      compensationRounds: e.SHIPSHAPE_COMPENSATION_ROUNDS,
      loyaltyRetryMs: e.SHIPSHAPE_LOYALTY_RETRY_MS,
    },
    messaging: {
      maxDeliver: e.SHIPSHAPE_MAX_DELIVER,
      ackWaitMs: e.SHIPSHAPE_ACK_WAIT_MS,
      duplicateWindowMs: e.SHIPSHAPE_DUPLICATE_WINDOW_MS,
      replicas: e.SHIPSHAPE_STREAM_REPLICAS,
      maxBytes: e.SHIPSHAPE_STREAM_MAX_BYTES,
    },
    relay: { intervalMs: e.SHIPSHAPE_RELAY_INTERVAL_MS, graceMs: e.SHIPSHAPE_RELAY_GRACE_MS },
    retention: retentionSettings(e),
    reconciler: {
      periodMs: e.SHIPSHAPE_RECONCILE_PERIOD_MS,
      cleanupPeriodMs: e.SHIPSHAPE_CLEANUP_PERIOD_MS,
      thresholdMs: e.SHIPSHAPE_RECONCILE_THRESHOLD_MS,
      maxPerRound: e.SHIPSHAPE_RECONCILE_MAX,
      maxCleanups: e.SHIPSHAPE_MAX_CLEANUPS,
      failingTaskAttempts: e.SHIPSHAPE_FAILING_TASK_ATTEMPTS,
    },
    crashPoints: e.SHIPSHAPE_CRASH_POINTS,
  };
}

/** Temporal UI link of one order's run. */
export function temporalUiLink(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
