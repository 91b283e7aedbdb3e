import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from './paths';

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

const envSchema = z.object({
  SHIPSHAPE_STACK_DIR: z.string().optional(),
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
  SHIPSHAPE_ACTIVITY_SLOTS: intFromEnv('SHIPSHAPE_ACTIVITY_SLOTS', 100, 1, 10000),
  SHIPSHAPE_WORKFLOW_TASK_SLOTS: intFromEnv('SHIPSHAPE_WORKFLOW_TASK_SLOTS', 40, 2, 10000),
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
  SHIPSHAPE_RECONCILE_PERIOD_MS: intFromEnv('SHIPSHAPE_RECONCILE_PERIOD_MS', 30_000, 100),
  SHIPSHAPE_RECONCILE_THRESHOLD_MS: intFromEnv('SHIPSHAPE_RECONCILE_THRESHOLD_MS', 120_000, 0),
  SHIPSHAPE_RECONCILE_MAX: intFromEnv('SHIPSHAPE_RECONCILE_MAX', 100, 1, 100000),
  SHIPSHAPE_RELAY_INTERVAL_MS: intFromEnv('SHIPSHAPE_RELAY_INTERVAL_MS', 1_000, 50),
  SHIPSHAPE_RELAY_GRACE_MS: intFromEnv('SHIPSHAPE_RELAY_GRACE_MS', 5_000, 0),
});

/** Every environment variable Shipshape reads (a deployment's settings are checked against it). */
export const KNOWN_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/** Ports of the local stack, shifted together by SHIPSHAPE_PORT_OFFSET so two stacks can coexist. */
export interface StackPorts {
  temporal: number;
  temporalUi: number;
  temporalHttp: number;
  temporalMetrics: number;
  nats: number;
  natsMonitor: number;
  postgres: number;
  api: number;
  fakePayment: number;
  fakeCarrier: number;
  /** `shipshape run` gives each worker process its own metrics port from here up. */
  metricsBase: number;
}

export function stackPorts(offset: number): StackPorts {
  return {
    temporal: 17233 + offset,
    temporalUi: 18233 + offset,
    temporalHttp: 17243 + offset,
    temporalMetrics: 17253 + offset,
    nats: 14222 + offset,
    natsMonitor: 18222 + offset,
    postgres: 15432 + offset,
    api: 13000 + offset,
    fakePayment: 18081 + offset,
    fakeCarrier: 18082 + offset,
    metricsBase: 19100 + offset,
  };
}

export interface Config {
  stack: {
    dir: string;
    ports: StackPorts;
    managesPostgres: boolean;
    /** Where built Temporal CLI and nats-server binaries are kept, outside the repo so clones reuse them. */
    binCacheDir: string;
  };
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string };
  nats: { servers: string[] };
  database: { url: string };
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
  api: { port: number; host: string };
  /** Where a worker process serves GET /metrics; 0 serves none (the API serves its own on its port). */
  metricsPort: number;
  /** Where traces go (OTLP over HTTP); unset, tracing is off. */
  otlpEndpoint: string | undefined;
  /** Orders a service or the reply bridge works on in parallel (key-ordered lanes). */
  lanes: number;
  /** The Temporal worker's concurrent activities and workflow tasks. */
  worker: { activitySlots: number; workflowTaskSlots: number };
  logLevel: string;
  /** Passed to each order's workflow when it starts (workflows read no environment). */
  workflow: {
    stepTimeoutMs: number;
    stepMaxSends: number;
    duplicateWindowMs: number;
    compensationRounds: number;
    loyaltyRetryMs: number;
  };
  messaging: { maxDeliver: number; ackWaitMs: number; duplicateWindowMs: number };
  relay: { intervalMs: number; graceMs: number };
  /** The reconciler: how often it looks, how long without progress counts as stuck, how many per round. */
  reconciler: { periodMs: number; thresholdMs: number; maxPerRound: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
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
      binCacheDir:
        e.SHIPSHAPE_BIN_CACHE ??
        path.join(e.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'shipshape', 'bin'),
    },
    temporal: {
      address: e.TEMPORAL_ADDRESS ?? `127.0.0.1:${ports.temporal}`,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL ?? `http://127.0.0.1:${ports.temporalUi}`,
    },
    nats: {
      servers: (e.NATS_SERVERS ?? `nats://127.0.0.1:${ports.nats}`)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    },
    database: {
      url: e.DATABASE_URL ?? `postgres://shipshape@127.0.0.1:${ports.postgres}/shipshape`,
    },
    providers: {
      paymentUrl,
      carrierUrl,
      useFakes: !e.PAYMENT_PROVIDER_URL || !e.CARRIER_URL,
      timeoutMs: e.SHIPSHAPE_PROVIDER_TIMEOUT_MS,
      paymentRatePerSec: e.SHIPSHAPE_PAYMENT_RATE_PER_SEC,
      carrierRatePerSec: e.SHIPSHAPE_CARRIER_RATE_PER_SEC,
    },
    api: { port: apiPort, host: e.HOST },
    metricsPort: e.METRICS_PORT,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    lanes: e.SHIPSHAPE_LANES,
    worker: {
      activitySlots: e.SHIPSHAPE_ACTIVITY_SLOTS,
      workflowTaskSlots: e.SHIPSHAPE_WORKFLOW_TASK_SLOTS,
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
    },
    relay: { intervalMs: e.SHIPSHAPE_RELAY_INTERVAL_MS, graceMs: e.SHIPSHAPE_RELAY_GRACE_MS },
    reconciler: {
      periodMs: e.SHIPSHAPE_RECONCILE_PERIOD_MS,
      thresholdMs: e.SHIPSHAPE_RECONCILE_THRESHOLD_MS,
      maxPerRound: e.SHIPSHAPE_RECONCILE_MAX,
    },
  };
}

/** Temporal UI link of one order's run. */
export function temporalUiLink(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
