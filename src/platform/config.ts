import os from 'node:os';
import path from 'node:path';
import { projectRoot } from './paths';
import { ApiKeyError, parseApiKeys } from './security/api-keys';
import type { ApiKey } from './security/api-keys';
import { apiSettings } from './settings/api';
import { databaseSettings } from './settings/database';
import { keySettings } from './settings/keys';
import { messagingSettings } from './settings/messaging';
import { processSettings, TEMPORAL_MODES } from './settings/processes';
import type { TemporalMode } from './settings/processes';
import { providerSettings } from './settings/providers';
import { reconcilerSettings } from './settings/reconciler';
import { retentionSettings } from './settings/retention';
import { readSection } from './settings/setting';
import type { Reading, Section, Setting, Values } from './settings/setting';
import { stackPorts } from './settings/stack-ports';
import { temporalSettings } from './settings/temporal';
import { workflowSettings } from './settings/workflow';
import { parsePayloadKeys, PayloadKeyError } from './temporal/payload-keys';
import type { PayloadKey } from './temporal/payload-keys';
import type { OrderWorkflowSettings } from '../../workflows/order-input';

/**
 * Every setting Shipshape reads, parsed once; the only reader of `process.env`. Each part of Shipshape
 * declares its own settings (src/platform/settings/), with their defaults and meaning, and this file
 * puts the values where the code finds them. With nothing set, the addresses point at the local stack
 * that `shipshape stack up` starts.
 */

export { TEMPORAL_MODES };
export type { TemporalMode };
export type { StackPorts } from './settings/stack-ports';

/** The settings, by the part of Shipshape that owns them: docs/configuration.md follows this order. */
export const SETTINGS = {
  'The local stack and every process': processSettings,
  Temporal: temporalSettings,
  'The order workflow': workflowSettings,
  'NATS and JetStream': messagingSettings,
  PostgreSQL: databaseSettings,
  'The payment provider and the carrier': providerSettings,
  'The HTTP API': apiSettings,
  'Keys, the codec server and the UI gate': keySettings,
  Retention: retentionSettings,
  'The reconciler': reconcilerSettings,
} satisfies Record<string, Section>;

/** Every setting, in the order of SETTINGS. */
export const ALL_SETTINGS: readonly Setting<unknown>[] = Object.values(
  SETTINGS as Record<string, Section>,
).flatMap((section) => Object.values(section));

/** Every environment variable Shipshape reads (a deployment's settings are checked against it). */
export const KNOWN_VARIABLES: readonly string[] = ALL_SETTINGS.flatMap((s) =>
  s.formerly ? [s.env, s.formerly] : [s.env],
);

/** A TemporalMode by name; undefined for an unknown one. */
export function temporalModeNamed(v: string): TemporalMode | undefined {
  return (TEMPORAL_MODES as readonly string[]).includes(v) ? (v as TemporalMode) : undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Former names already warned about in this process: each is named once. */
const warned = new Set<string>();

export type Config = ReturnType<typeof loadConfig>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const reading: Reading = { problems: [], renamed: [] };
  const read = <S extends Section>(section: S): Values<S> => readSection(section, env, reading);
  const p = read(processSettings);
  const t = read(temporalSettings);
  const w = read(workflowSettings);
  const m = read(messagingSettings);
  const d = read(databaseSettings);
  const pr = read(providerSettings);
  const a = read(apiSettings);
  const k = read(keySettings);
  const r = read(retentionSettings);
  const rc = read(reconcilerSettings);
  if (reading.problems.length)
    throw new ConfigError(`invalid configuration:\n  ${reading.problems.join('\n  ')}`);
  for (const { formerly, now } of reading.renamed)
    if (!warned.has(formerly)) {
      warned.add(formerly);
      process.emitWarning(`${formerly} is read this release only: set ${now} instead`, {
        code: 'SHIPSHAPE_RENAMED_SETTING',
      });
    }

  const ports = stackPorts(p.portOffset);
  const local = (port: number) => `127.0.0.1:${port}`;
  return {
    stack: {
      dir: path.resolve(projectRoot, p.stackDir),
      ports,
      managesPostgres: !d.url,
      temporal: p.temporalMode,
      binCacheDir:
        p.binCache ??
        path.join(p.xdgCacheHome ?? path.join(os.homedir(), '.cache'), 'shipshape', 'bin'),
    },
    temporal: {
      address: t.address ?? local(ports.temporal),
      namespace: t.namespace,
      taskQueue: t.taskQueue,
      uiUrl: t.uiUrl ?? `http://${local(ports.temporalUi)}`,
      tls: temporalTls(t),
      apiKey: t.apiKey,
      /** The worker's Worker Deployment Version; `buildId` unset: derived from the workflow code. */
      versioning: {
        enabled: t.workerVersioning,
        deploymentName: t.deploymentName,
        buildId: t.buildId,
        makeCurrent: t.makeCurrent,
      },
    },
    /** Payload keys given inline (the first encrypts), or the file that holds them; neither: the local stack's. */
    payloadEncryption: {
      keys: inlinePayloadKeys(k.payloadKeys, k.payloadKeysFile),
      keysFile: k.payloadKeysFile,
    },
    dataKeys: { spec: k.dataKeys, file: k.dataKeysFile },
    signing: {
      keyFile: k.signingKeyFile,
      trusted: k.trustedSigners,
      trustedFile: k.trustedSignersFile,
    },
    codecServer: {
      port: k.codecPort ?? ports.codecServer,
      tls: bothOrNeither('CODEC_TLS_CERT', k.codecTlsCert, 'CODEC_TLS_KEY', k.codecTlsKey, 'HTTPS'),
    },
    uiGate: {
      port: k.uiGatePort ?? ports.temporalUi,
      upstream: k.uiUpstream ?? `http://${local(ports.temporalUiServer)}`,
    },
    nats: {
      servers: (m.servers ?? `nats://${local(ports.nats)}`)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      user: m.user,
      password: m.password,
      passwordFile: m.passwordFile,
      credsFile: m.credsFile,
      tls: { ca: m.tlsCa, cert: m.tlsCert, key: m.tlsKey },
    },
    database: {
      url: d.url ?? `postgres://shipshape@${local(ports.postgres)}/shipshape`,
      passwordFile: d.passwordFile,
      migrationUrl: d.migrationUrl,
      statementTimeoutMs: d.statementTimeoutMs,
      idleInTransactionTimeoutMs: d.idleInTransactionTimeoutMs,
    },
    providers: {
      paymentUrl: pr.paymentUrl ?? `http://${local(ports.fakePayment)}`,
      carrierUrl: pr.carrierUrl ?? `http://${local(ports.fakeCarrier)}`,
      /** True when the URLs point at the fake providers that `shipshape run` starts itself. */
      useFakes: !pr.paymentUrl || !pr.carrierUrl,
      timeoutMs: pr.timeoutMs,
      paymentRatePerSec: pr.paymentRatePerSec,
      carrierRatePerSec: pr.carrierRatePerSec,
    },
    api: {
      port: a.port ?? ports.api,
      host: a.host,
      keys: inlineApiKeys(a.keys),
      keysFile: a.keysFile,
      callerKey: a.callerKey,
      ratePerMin: a.ratePerMin,
      anonymousRatePerMin: a.anonymousRatePerMin,
    },
    metricsPort: p.metricsPort,
    otlpEndpoint: p.otlpEndpoint,
    lanes: m.lanes,
    drainNiceness: p.drainNiceness,
    worker: {
      activitySlots: t.activitySlots,
      workflowTaskSlots: t.workflowTaskSlots,
      cachedWorkflows: t.cachedWorkflows,
    },
    logLevel: p.logLevel,
    /** What each order's workflow is started with. */
    workflow: { ...w, duplicateWindowMs: m.duplicateWindowMs } satisfies OrderWorkflowSettings,
    messaging: {
      maxDeliver: m.maxDeliver,
      ackWaitMs: m.ackWaitMs,
      duplicateWindowMs: m.duplicateWindowMs,
      replicas: m.replicas,
      maxBytes: m.maxBytes,
    },
    relay: { intervalMs: m.relayIntervalMs, graceMs: m.relayGraceMs },
    retention: retention(r),
    reconciler: rc,
    crashPoints: p.crashPoints,
  };
}

/** Temporal UI link of one order's run. */
export function temporalUiLink(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

const refuse = (why: string): never => {
  throw new ConfigError(`invalid configuration: ${why}`);
};

/** Two files that only go together (a certificate and its key). */
function bothOrNeither(
  certName: string,
  certFile: string | undefined,
  keyName: string,
  keyFile: string | undefined,
  needs: string,
): { certFile: string; keyFile: string } | undefined {
  if (certFile && !keyFile) refuse(`${certName} is set without ${keyName} (${needs} needs both)`);
  if (keyFile && !certFile) refuse(`${keyName} is set without ${certName} (${needs} needs both)`);
  return certFile && keyFile ? { certFile, keyFile } : undefined;
}

/** Remote Temporal over TLS: a client certificate needs its key (and the other way round). */
function temporalTls(
  t: Values<typeof temporalSettings>,
): { certFile?: string; keyFile?: string; caFile?: string; serverName?: string } | undefined {
  const pair = bothOrNeither('TEMPORAL_TLS_CERT', t.tlsCert, 'TEMPORAL_TLS_KEY', t.tlsKey, 'mTLS');
  if (!pair && !t.tlsCa && !t.tlsServerName) return undefined;
  return {
    ...pair,
    ...(t.tlsCa ? { caFile: t.tlsCa } : {}),
    ...(t.tlsServerName ? { serverName: t.tlsServerName } : {}),
  };
}

function inlineApiKeys(spec: string | undefined): ApiKey[] | undefined {
  if (spec === undefined || spec.trim() === '') return undefined;
  try {
    return parseApiKeys(spec, 'SHIPSHAPE_API_KEYS');
  } catch (err) {
    if (err instanceof ApiKeyError) refuse(err.message);
    throw err;
  }
}

function inlinePayloadKeys(
  spec: string | undefined,
  file: string | undefined,
): PayloadKey[] | undefined {
  if (spec === undefined || spec.trim() === '') return undefined;
  if (file)
    refuse(
      'set SHIPSHAPE_PAYLOAD_KEYS or SHIPSHAPE_PAYLOAD_KEYS_FILE, not both (the first key listed encrypts)',
    );
  try {
    return parsePayloadKeys(spec, 'SHIPSHAPE_PAYLOAD_KEYS');
  } catch (err) {
    if (err instanceof PayloadKeyError) refuse(err.message);
    throw err;
  }
}

/** The retentions, each refused when shorter than what deduplication needs, naming that minimum. */
function retention(r: Values<typeof retentionSettings>) {
  const minimumHours = r.namespaceHours + r.orderLifetimeHours;
  const tooShort = (
    [
      ['SHIPSHAPE_COMMAND_RETENTION_HOURS', r.commandHours],
      ['SHIPSHAPE_DEAD_LETTER_RETENTION_HOURS', r.deadLetterHours],
    ] as const
  ).filter(([, hours]) => hours < minimumHours);
  if (tooShort.length)
    throw new ConfigError(
      `invalid configuration:\n${tooShort
        .map(
          ([name, hours]) =>
            `  ${name}: ${hours} h is shorter than deduplication needs: at least ${minimumHours} h, ` +
            `SHIPSHAPE_NAMESPACE_RETENTION_HOURS (${r.namespaceHours}) + ` +
            `SHIPSHAPE_ORDER_LIFETIME_HOURS (${r.orderLifetimeHours}), since a reset re-sends ` +
            `an order's commands for as long as Temporal keeps its run`,
        )
        .join('\n')}`,
    );
  return {
    ...r,
    /** The least each retention may be. */
    minimumHours,
    /**
     * How long a dead letter may be replayed: the services surely still know its order, whose record
     * may be as old as the order. Older, a replay could redo.
     */
    replayableHours: r.commandHours - r.orderLifetimeHours,
  };
}
