import { setTimeout as delay } from 'node:timers/promises';
import { localTlsDir } from '../../src/platform/security/local-certificates';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/platform/config';
import { createPool } from '../../src/platform/db/pool';
import { SERVICES, TERMINAL_STATUSES } from '../../src/domain/types';
import type { OrderStatus, ServiceName } from '../../src/domain/types';
import { connectNats } from '../../src/platform/messaging/connection';
import { REPLY_STREAM } from '../../src/platform/messaging/subjects';
import { prepareInfrastructure } from '../../src/processes/setup';
import { databaseUrlFor } from '../../src/platform/security/identity';
import { readLocalSecrets } from '../../src/platform/security/local-secrets';
import { stackDown, stackStatus, stackTemporalCluster, stackUp } from '../stack/stack';
import { natsClusterBasePort, startNatsCluster } from '../stack/nats-cluster';
import type { NatsCluster } from '../stack/nats-cluster';
import { AppProcesses } from './app-processes';
import { CLUSTER_FAULTS, FAULTS, faultsByName, QUICK_FAULTS } from './faults';
import type { ChaosContext, FaultKind } from './faults';
import { checkInvariants, fetchLedgers } from './invariants';
import type { CampaignRecord, FaultRecord, Violation } from './invariants';
import { catalogueFor, OrderLoad } from './load';
import { Random } from './random';
import { waitFor } from '../../src/platform/wait';
import { workflowBundlePath } from '../../src/platform/temporal/bundle';
import { TcpProxy } from './tcp-proxy';
import { APP_PROCESSES } from '../../src/processes/table';
import type { ProcessName } from '../../src/processes/table';

export interface CampaignOptions {
  seed: number;
  /** A short run: a handful of fault kinds, a lower order rate. */
  quick: boolean;
  /** Fault kinds to inject, in order; default: all (shuffled by the seed), or the quick set. */
  faults?: string[];
  /** How many times the list of faults is gone through. */
  rounds?: number;
  /**
   * Run on a three-node NATS cluster with replicated (R3) streams instead of the stack's single server,
   * and on a two-node Temporal cluster instead of the dev server; the faults that need the single
   * servers (killing them, proxies in front of NATS) are left out.
   */
  cluster?: boolean;
  /** Leave the campaign's stack running at the end (it is stopped only if the campaign started it). */
  keepStack?: boolean;
  /** The environment the campaign's stack and processes start from. */
  env?: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export interface FaultSummary {
  injected: number;
  /** Orders accepted before the fault ended and settled after it began. */
  ordersInFlight: number;
  violations: number;
}

export interface CampaignReport {
  seed: number;
  runId: string;
  orders: number;
  statuses: Record<string, number>;
  faultsInjected: number;
  faults: FaultRecord[];
  violations: Violation[];
  /** Seconds from the end of the last fault until every order had settled and every invariant held. */
  convergeSeconds: number | null;
  byFault: Record<string, FaultSummary>;
  /** Processes that died when no fault was aimed at them (each was restarted). */
  unexpectedExits: string[];
  durationSeconds: number;
}

/**
 * The settings every process of the campaign runs with: the campaign's own stack, and timings short
 * enough that a fault and its recovery fit in seconds (re-sends, AckWait, duplicate window, relay,
 * reconciler, loyalty retries).
 */
/** The chaos stack's port offset when SHIPSHAPE_PORT_OFFSET is unset. */
export const CHAOS_PORT_OFFSET = 50;

export function campaignEnv(
  env: NodeJS.ProcessEnv,
  quick: boolean,
  cluster = false,
): NodeJS.ProcessEnv {
  const defaults: NodeJS.ProcessEnv = {
    SHIPSHAPE_STACK_DIR: '.shipshape-chaos',
    SHIPSHAPE_PORT_OFFSET: String(CHAOS_PORT_OFFSET),
    LOG_LEVEL: 'info',
    SHIPSHAPE_STEP_TIMEOUT_MS: '5000',
    SHIPSHAPE_ACK_WAIT_MS: '4000',
    SHIPSHAPE_DUPLICATE_WINDOW_MS: quick ? '6000' : '10000',
    SHIPSHAPE_RELAY_GRACE_MS: '2000',
    SHIPSHAPE_RELAY_INTERVAL_MS: '500',
    SHIPSHAPE_RECONCILE_PERIOD_MS: '3000',
    SHIPSHAPE_RECONCILE_THRESHOLD_MS: '20000',
    SHIPSHAPE_LOYALTY_RETRY_MS: '3000',
    SHIPSHAPE_PROVIDER_TIMEOUT_MS: '2000',
  };
  const out: NodeJS.ProcessEnv = { ...defaults };
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  // The campaign arms crash points itself, per process.
  delete out.SHIPSHAPE_CRASH_POINTS;
  // Said either way, so a campaign stack left running the other way is refused rather than reused.
  out.SHIPSHAPE_TEMPORAL = cluster ? 'cluster' : (out.SHIPSHAPE_TEMPORAL ?? 'dev');
  return out;
}

/** Orders placed per second, while fewer than MAX_OUTSTANDING of the run's orders are still open. */
const RATE_PER_SEC = 1;
const MAX_OUTSTANDING = 15;

/** The cluster's first client port (routes at +10, monitoring at +20): next to the stack's own ports. */
const clusterBasePort = (config: { stack: { ports: { nats: number } } }) =>
  natsClusterBasePort(config.stack.ports.nats);

const PROCESSES: ProcessName[] = ['fake-providers', ...APP_PROCESSES];

/** True once every accepted order has ended (or waits for an operator) and completed orders have their points. */
async function settled(
  pool: Pool,
  ids: string[],
): Promise<{ done: number; statuses: Record<string, number> }> {
  const { rows } = await pool.query<{ status: string; loyalty: string | null }>(
    `SELECT status, steps->'loyalty'->>'state' AS loyalty FROM app.orders WHERE order_id = ANY($1)`,
    [ids],
  );
  const statuses: Record<string, number> = {};
  let done = 0;
  for (const r of rows) {
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const ended =
      TERMINAL_STATUSES.includes(r.status as OrderStatus) || r.status === 'NEEDS_ATTENTION';
    if (ended && (r.status !== 'COMPLETED' || r.loyalty === 'SUCCEEDED')) done++;
  }
  return { done, statuses };
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  const t0 = Date.now();
  const { log } = opts;
  const env = campaignEnv(opts.env ?? process.env, opts.quick, opts.cluster);
  let config = loadConfig(env);
  const temporalMode = config.stack.temporal ?? 'dev';
  const rng = new Random(opts.seed);
  const runId = `chaos${opts.seed}-${Date.now().toString(36)}`;
  const plan: FaultKind[] = [];
  const kinds = opts.faults?.length
    ? faultsByName(opts.faults)
    : opts.cluster
      ? faultsByName(CLUSTER_FAULTS)
      : opts.quick
        ? faultsByName(QUICK_FAULTS)
        : rng
            .fork()
            .shuffle(
              FAULTS.filter((f) => !f.needsCluster && (!f.temporal || f.temporal === temporalMode)),
            );
  for (const k of kinds) {
    if (k.needsCluster && !opts.cluster) throw new Error(`fault ${k.name} needs --cluster`);
    if (k.needsSingleServer && opts.cluster)
      throw new Error(`fault ${k.name} needs the single NATS server (not --cluster)`);
    if (k.temporal && k.temporal !== temporalMode)
      throw new Error(
        `fault ${k.name} needs Temporal as ${k.temporal === 'dev' ? 'the dev server' : 'a cluster (--cluster or SHIPSHAPE_TEMPORAL=cluster)'}`,
      );
  }
  for (let r = 0; r < (opts.rounds ?? 1); r++) plan.push(...kinds);

  const startedStack = (await stackStatus(config)).every((s) => !s.managed || s.pid === null);
  log(`stack in ${config.stack.dir} (port offset ${config.stack.ports.api - 13000})`);
  await stackUp(config, log);
  let cluster: NatsCluster | undefined;
  if (opts.cluster) {
    const secrets = readLocalSecrets(config.stack.dir);
    cluster = await startNatsCluster({
      dir: path.join(config.stack.dir, 'nats-cluster'),
      basePort: clusterBasePort(config),
      binCacheDir: config.stack.binCacheDir,
      tlsDir: localTlsDir(config.stack.dir),
      fresh: true,
      ...(secrets ? { secrets } : {}),
      log,
      readyTimeoutMs: 180_000,
    });
    // Every process, the setup step included, uses the cluster and replicated streams.
    env.NATS_SERVERS = cluster.servers.join(',');
    env.SHIPSHAPE_STREAM_REPLICAS = '3';
    config = loadConfig(env);
  }
  await prepareInfrastructure(config, log);

  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse())
      await c().catch((err: unknown) => log(`cleanup: ${(err as Error).message}`));
  };
  try {
    // A proxy in front of NATS and one in front of PostgreSQL for each service.
    const natsProxies = new Map<ServiceName, TcpProxy>();
    const pgProxies = new Map<ServiceName, TcpProxy>();
    for (const s of SERVICES) {
      const n = new TcpProxy({ listenPort: 0, targetPort: config.stack.ports.nats });
      const p = new TcpProxy({ listenPort: 0, targetPort: config.stack.ports.postgres });
      await n.start();
      await p.start();
      cleanups.push(
        () => n.stop(),
        () => p.stop(),
      );
      natsProxies.set(s, n);
      pgProxies.set(s, p);
    }
    const envOf = (name: ProcessName): NodeJS.ProcessEnv => {
      if (!(SERVICES as readonly string[]).includes(name)) return {};
      const s = name as ServiceName;
      const db = new URL(databaseUrlFor(config, s));
      db.port = String(pgProxies.get(s)!.port);
      return {
        // On a cluster a service talks to every node itself: a proxy would make one node its only way in.
        ...(cluster ? {} : { NATS_SERVERS: `nats://127.0.0.1:${natsProxies.get(s)!.port}` }),
        DATABASE_URL: db.toString(),
      };
    };

    const procs = new AppProcesses({
      logDir: path.join(config.stack.dir, 'logs', runId),
      baseEnv: env,
      metricsPort: (name) => config.stack.ports.metricsBase + PROCESSES.indexOf(name),
      log,
      // On a busy machine the worker's first start (bundling the workflows) takes minutes.
      readyTimeoutMs: 300_000,
    });
    cleanups.push(() => procs.stopAll());
    for (const name of PROCESSES) procs.setEnv(name, envOf(name));
    // Bundled once before any worker starts, so every worker of the run runs the same workflow code.
    await workflowBundlePath(false); // their workers export no spans: the untraced bundle
    log(
      `starting ${PROCESSES.length} processes (logs in ${path.join(config.stack.dir, 'logs', runId)})`,
    );
    await procs.start('fake-providers');
    await Promise.all(PROCESSES.filter((n) => n !== 'fake-providers').map((n) => procs.start(n)));

    const pool = createPool(config, 'migrator', { max: 3, applicationName: 'shipshape-chaos' });
    // A restart of PostgreSQL ends idle connections; the pool reconnects, the campaign goes on.
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    const nc: NatsConnection = await connectNats(config, 'admin', 'shipshape-chaos');
    cleanups.push(() => nc.close());
    const firstReplySeq =
      (await (await jetstreamManager(nc)).streams.info(REPLY_STREAM)).state.last_seq + 1;

    const apiUrl = `http://127.0.0.1:${config.api.port}`;
    const catalogue = catalogueFor(runId, rng.fork());
    const load = new OrderLoad(
      {
        apiUrl,
        apiKey: config.api.callerKey ?? readLocalSecrets(config.stack.dir)?.apiKeys.operator,
        runId,
        rng: rng.fork(),
        ratePerSec: RATE_PER_SEC,
        maxOutstanding: MAX_OUTSTANDING,
        unfinished: async () =>
          (
            await pool.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM app.orders
               WHERE starts_with(order_id, $1) AND NOT (status = ANY($2))`,
              [runId, [...TERMINAL_STATUSES, 'NEEDS_ATTENTION']],
            )
          ).rows[0]?.n ?? 0,
        log,
      },
      catalogue,
    );
    await load.setup(config.providers.paymentUrl);

    const run: CampaignRecord = {
      runId,
      startedAt: new Date(),
      accepted: load.accepted,
      initialStock: new Map(catalogue.skus.map((s) => [s.sku, s.stock])),
      poisonMarkers: [],
      faults: [],
    };
    const ctx: ChaosContext = {
      config,
      procs,
      envOf,
      natsProxies,
      pgProxies,
      nc,
      load,
      rng: rng.fork(),
      runId,
      poisonMarkers: run.poisonMarkers,
      firstReplySeq,
      timing: {
        ackWaitMs: config.messaging.ackWaitMs,
        duplicateWindowMs: config.messaging.duplicateWindowMs,
      },
      log,
      ...(cluster ? { cluster } : {}),
      ...(temporalMode === 'cluster' ? { temporalCluster: stackTemporalCluster(config, log) } : {}),
    };

    // Anything that dies while no fault is aimed at it is a finding: note it, bring it back.
    const unexpectedExits: string[] = [];
    let injecting = false;
    let watching = true;
    const watchdog = (async () => {
      while (watching) {
        await delay(1000);
        if (injecting || !watching) continue;
        for (const name of PROCESSES) {
          if (procs.running(name) || injecting) continue;
          const how = procs.lastExit(name) ?? 'not running';
          unexpectedExits.push(`${name} (${how}) at ${new Date().toISOString()}`);
          log(`${name} died (${how}) with no fault aimed at it; restarting`);
          await procs
            .start(name)
            .catch((err: unknown) => log(`restart of ${name}: ${(err as Error).message}`));
        }
      }
    })();
    cleanups.push(async () => {
      watching = false;
      await watchdog;
    });

    log(
      `run ${runId}: seed ${opts.seed}, ${plan.length} faults, ${RATE_PER_SEC} orders/s while fewer than ${MAX_OUTSTANDING} are open`,
    );
    load.start();
    // Faults start once orders flow end to end: a few completed show every process is up and working.
    await waitFor(
      'the first orders to complete',
      async () =>
        (
          await pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM app.orders WHERE starts_with(order_id, $1) AND status = 'COMPLETED'`,
            [runId],
          )
        ).rows[0]!.n >= 3,
      { timeoutMs: 300_000, intervalMs: 1000 },
    );
    log(`orders flow (${load.accepted.size} accepted); injecting faults`);
    for (const [i, fault] of plan.entries()) {
      injecting = true;
      const startedAt = Date.now();
      let detail: string;
      try {
        detail = await fault.inject(ctx);
      } catch (err) {
        detail = `injection failed: ${(err as Error).message}`;
      } finally {
        injecting = false;
      }
      run.faults.push({ kind: fault.name, detail, startedAt, endedAt: Date.now() });
      log(
        `[${i + 1}/${plan.length}] ${fault.name}: ${detail} (${load.accepted.size} orders accepted)`,
      );
      await delay(ctx.rng.int(2000, 5000));
    }
    const lastFaultEnd = run.faults[run.faults.length - 1]?.endedAt ?? Date.now();
    await delay(opts.quick ? 2000 : 5000);
    await load.stop();
    log(`${load.accepted.size} orders accepted; waiting for every order to settle`);

    const ids = [...load.accepted.keys()];
    const deadline = Date.now() + (opts.quick ? 240_000 : 600_000);
    let violations: Violation[] = [];
    let convergedAt: number | undefined;
    let statuses: Record<string, number> = {};
    let lastNote = 0;
    for (;;) {
      const s = await settled(pool, ids).catch(() => ({ done: -1, statuses }));
      statuses = s.statuses;
      const expired = Date.now() > deadline;
      if (s.done === ids.length || expired) {
        const ledgers = await fetchLedgers(
          config.providers.paymentUrl,
          config.providers.carrierUrl,
        );
        violations = await checkInvariants(pool, ledgers, run);
        if (violations.length === 0 && s.done === ids.length) {
          convergedAt = Date.now();
          break;
        }
        if (expired) break;
      }
      if (Date.now() - lastNote > 10_000) {
        lastNote = Date.now();
        log(
          `settling: ${Math.max(0, s.done)}/${ids.length} orders settled ${JSON.stringify(statuses)}` +
            (violations.length ? `, ${violations.length} invariants not yet holding` : ''),
        );
      }
      await delay(2000);
    }

    const byFault: Record<string, FaultSummary> = {};
    for (const f of run.faults) {
      const b = (byFault[f.kind] ??= { injected: 0, ordersInFlight: 0, violations: 0 });
      b.injected++;
      b.ordersInFlight += [...load.accepted.values()].filter(
        (o) => o.acceptedAt <= f.endedAt && o.acceptedAt >= f.startedAt - 60_000,
      ).length;
    }
    for (const v of violations) {
      const kind = v.fault?.split(':')[0];
      if (kind && byFault[kind]) byFault[kind].violations++;
    }
    return {
      seed: opts.seed,
      runId,
      orders: load.accepted.size,
      statuses,
      faultsInjected: run.faults.filter((f) => !f.detail.startsWith('injection failed')).length,
      faults: run.faults,
      violations,
      convergeSeconds: convergedAt ? Math.round((convergedAt - lastFaultEnd) / 100) / 10 : null,
      byFault,
      unexpectedExits,
      durationSeconds: Math.round((Date.now() - t0) / 1000),
    };
  } finally {
    await cleanup();
    await cluster?.stop();
    if (startedStack && !opts.keepStack) await stackDown(config, log);
  }
}

/** The report as people read it. */
export function formatReport(r: CampaignReport): string {
  const lines = [
    `chaos run ${r.runId} (seed ${r.seed}), ${r.durationSeconds} s`,
    `orders: ${r.orders} ${JSON.stringify(r.statuses)}`,
    `faults injected: ${r.faultsInjected}`,
    ...r.faults.map((f) => `  ${f.kind}: ${f.detail}`),
    `time to converge after the last fault: ${r.convergeSeconds === null ? 'did not converge' : `${r.convergeSeconds} s`}`,
    ...(r.unexpectedExits.length
      ? [`processes that died with no fault aimed at them: ${r.unexpectedExits.join(', ')}`]
      : []),
    `violations: ${r.violations.length}`,
    ...r.violations
      .slice(0, 60)
      .map(
        (v) =>
          `  ${v.invariant}${v.orderId ? ` [order ${v.orderId}]` : ''}: ${v.detail}${v.fault ? ` — after ${v.fault}` : ''}`,
      ),
    ...(r.violations.length > 60 ? [`  … and ${r.violations.length - 60} more`] : []),
  ];
  return lines.join('\n');
}

/** The last line of `--json`. */
export function jsonSummary(r: CampaignReport): string {
  return JSON.stringify({
    orders: r.orders,
    faultsInjected: r.faultsInjected,
    violations: r.violations.length,
    convergeSeconds: r.convergeSeconds,
    byFault: r.byFault,
    seed: r.seed,
  });
}
