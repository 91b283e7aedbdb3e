import { execFile } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config, TemporalMode } from '../../src/platform/config';
import { SERVICES } from '../../src/domain/types';
import type { ServiceName } from '../../src/domain/types';
import { stopReading } from '../../src/platform/messaging/stream-reader';
import { COMMAND_STREAM, HDR_ORDER_ID, REPLY_TRAIL } from '../../src/platform/messaging/subjects';
import { stackStatus, stackUp } from '../stack/stack';
import { stopPostgres } from '../stack/postgres';
import { isAlive } from '../stack/process';
import { waitFor } from '../../src/platform/wait';
import type { AppProcesses } from './app-processes';
import { formatCrashPoints } from '../../src/platform/crash-point-spec';
import type { CrashPointName, CrashPointRule } from '../../src/platform/crash-point-spec';
import type { OrderLoad } from './load';
import type { Random } from './random';
import type { ProxyMode, TcpProxy } from './tcp-proxy';
import type { NatsCluster } from '../stack/nats-cluster';
import { HISTORY_SHARDS } from '../stack/temporal-node';
import type { TemporalCluster } from '../stack/temporal-cluster';
import type { ProcessName } from '../../src/processes/table';
import { connectTemporalClient } from '../../src/platform/temporal/client';
import { temporalCliFlags } from '../../src/platform/temporal/connection';
import { workflowIdFor } from '../../workflows/definitions';
import { temporalBinary } from '../stack/binaries';

const execFileAsync = promisify(execFile);

/** What a fault needs to reach: the stack, the app's processes, the proxies, the broker and the load. */
export interface ChaosContext {
  config: Config;
  procs: AppProcesses;
  /** The environment each process normally runs with (its proxies), without crash points. */
  envOf(name: ProcessName): NodeJS.ProcessEnv;
  natsProxies: Map<ServiceName, TcpProxy>;
  pgProxies: Map<ServiceName, TcpProxy>;
  /** An admin connection: it may publish anywhere, as a misbehaving producer could. */
  nc: NatsConnection;
  load: OrderLoad;
  rng: Random;
  runId: string;
  poisonMarkers: string[];
  /** The first REPLIES sequence of this run, so replays pick this run's replies. */
  firstReplySeq: number;
  timing: { ackWaitMs: number; duplicateWindowMs: number };
  log: (line: string) => void;
  /** Set when the campaign runs on a three-node NATS cluster. */
  cluster?: NatsCluster;
  /** Set when the stack runs Temporal as a two-node cluster. */
  temporalCluster?: TemporalCluster;
}

export interface FaultKind {
  name: string;
  /** The fault's number in the list of faults this campaign covers (docs/reliability.md). */
  group: number;
  summary: string;
  /** Only on a NATS cluster (`--cluster`). */
  needsCluster?: boolean;
  /** Only with the stack's single NATS server (it is killed, or proxied). */
  needsSingleServer?: boolean;
  /** Only when the stack runs Temporal this way (the dev server is killed, or a cluster node). */
  temporal?: TemporalMode;
  /** Injects the fault, brings back what it broke, and says what exactly was done. */
  inject(ctx: ChaosContext): Promise<string>;
}

const ordinal = (n: number) => `${n}${n === 1 ? 'st' : n === 2 ? 'nd' : n === 3 ? 'rd' : 'th'}`;

/**
 * Restarts `proc` with crash points armed, waits for it to kill itself (or gives up after `timeoutMs`),
 * then brings it back without them.
 */
async function crashAt(
  ctx: ChaosContext,
  armed: { proc: ProcessName; rules: CrashPointRule[] }[],
  timeoutMs = 90_000,
): Promise<string> {
  for (const { proc, rules } of armed) {
    ctx.procs.setEnv(proc, {
      ...ctx.envOf(proc),
      SHIPSHAPE_CRASH_POINTS: formatCrashPoints(rules),
    });
    await ctx.procs.stop(proc);
    await ctx.procs.start(proc);
  }
  const outcome: string[] = [];
  for (const { proc, rules } of armed) {
    let fired = true;
    try {
      await ctx.procs.waitForExit(proc, timeoutMs);
    } catch {
      fired = false;
    }
    ctx.procs.setEnv(proc, ctx.envOf(proc));
    if (!fired) await ctx.procs.stop(proc);
    const what = rules.map((r) => `${r.point}${r.scope ? `:${r.scope}` : ''} (${ordinal(r.nth)})`);
    outcome.push(`${fired ? 'SIGKILL' : 'never reached'} ${proc} at ${what.join(', ')}`);
    await delay(ctx.rng.int(200, 1500));
    await ctx.procs.start(proc);
  }
  return outcome.join('; ');
}

function serviceCrash(point: CrashPointName, group: number, summary: string): FaultKind {
  return {
    name: `service-kill-${point.replace(/^service\./, '')}`,
    group,
    summary,
    inject(ctx) {
      const service = ctx.rng.pick(SERVICES);
      return crashAt(ctx, [
        { proc: service, rules: [{ point, scope: service, nth: ctx.rng.int(1, 3) }] },
      ]);
    },
  };
}

function workerCrash(point: CrashPointName, summary: string): FaultKind {
  return {
    name: `worker-kill-${point.replace(/^worker\./, '')}`,
    group: 1,
    summary,
    inject(ctx) {
      const scope = ctx.rng.pick(SERVICES);
      return crashAt(ctx, [
        { proc: 'temporal-worker', rules: [{ point, scope, nth: ctx.rng.int(1, 4) }] },
      ]);
    },
  };
}

async function serverPid(config: Config, name: 'nats' | 'temporal'): Promise<number> {
  const pid = (await stackStatus(config)).find((s) => s.name === name)?.pid;
  if (pid === null || pid === undefined) throw new Error(`${name} is not running`);
  return pid;
}

/**
 * `stack up` again, which starts what is down; retried, because on a busy machine a server that runs
 * may miss a one-second health check and look like a stranger on its own port.
 */
async function restartStack(ctx: ChaosContext): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await stackUp(ctx.config);
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
      ctx.log(`stack up failed (${(err as Error).message.split('\n')[0]}); retrying`);
      await delay(2000);
    }
  }
}

async function killServer(ctx: ChaosContext, name: 'nats' | 'temporal', downMs: number) {
  const pid = await serverPid(ctx.config, name);
  process.kill(pid, 'SIGKILL');
  await waitFor(`${name} to die`, () => !isAlive(pid), { timeoutMs: 10_000, intervalMs: 20 });
  await delay(downMs);
  await restartStack(ctx);
}

/** Holds a proxy in a bad mode; a blackhole or dropped replies end as a keepalive would end them: reset. */
async function cutConnection(ctx: ChaosContext, proxy: TcpProxy, mode: ProxyMode, ms: number) {
  proxy.setMode(mode);
  await delay(ms);
  if (mode.kind === 'blackhole' || mode.kind === 'drop-replies') proxy.setMode({ kind: 'reset' });
  proxy.setMode({ kind: 'forward' });
}

function proxyMode(rng: Random): ProxyMode {
  return rng.pick<ProxyMode>([
    { kind: 'delay', ms: rng.int(200, 1500) },
    { kind: 'blackhole' },
    { kind: 'reset' },
    { kind: 'drop-replies' },
  ]);
}

const describeMode = (m: ProxyMode) => (m.kind === 'delay' ? `delay ${m.ms} ms` : m.kind);

/**
 * Every command stored during the window is published again under a fresh Nats-Msg-Id, so JetStream
 * keeps both and the service gets it twice. Read with an ordered consumer from the stream's end (the
 * admin user may not subscribe to app subjects, only to its own inbox).
 */
async function duplicateCommands(ctx: ChaosContext, windowMs: number): Promise<number> {
  const js = jetstream(ctx.nc);
  const jsm = await jetstreamManager(ctx.nc);
  const from = (await jsm.streams.info(COMMAND_STREAM)).state.last_seq + 1;
  const consumer = await js.consumers.get(COMMAND_STREAM, { opt_start_seq: from });
  const messages = await consumer.consume();
  let copied = 0;
  const copying = (async () => {
    for await (const m of messages) {
      if (m.headers?.get(COPY_HEADER)) continue;
      const h = natsHeaders();
      for (const [k, v] of m.headers ?? []) for (const x of v) h.append(k, x);
      h.set(COPY_HEADER, '1');
      copied++;
      await js
        .publish(m.subject, m.data, { msgID: `${ctx.runId}-copy-${copied}`, headers: h })
        .catch((err: unknown) => ctx.log(`duplicate not published: ${(err as Error).message}`));
    }
  })();
  await delay(windowMs);
  await stopReading(consumer, messages);
  await copying;
  return copied;
}

const COPY_HEADER = 'Shipshape-Chaos-Copy';

/** Publishes again a sample of this run's replies, long after the workflow used them. */
async function replayReplies(ctx: ChaosContext, count: number): Promise<number> {
  const jsm = await jetstreamManager(ctx.nc);
  const js = jetstream(ctx.nc);
  // Replies the bridge consumed have left the work stream; its trail keeps them.
  const last = (await jsm.streams.info(REPLY_TRAIL)).state.last_seq;
  let replayed = 0;
  for (let i = 0; i < count && last >= ctx.firstReplySeq; i++) {
    const seq = ctx.rng.int(ctx.firstReplySeq, last);
    const m = await jsm.streams.getMessage(REPLY_TRAIL, { seq }).catch(() => undefined);
    if (!m) continue;
    await js.publish(m.subject, m.data, {
      msgID: `${ctx.runId}-replay-${seq}-${i}`,
      ...(m.header ? { headers: m.header } : {}),
    });
    replayed++;
  }
  return replayed;
}

/** Messages no consumer can use, one or more in every stream; each carries a marker the checker knows. */
async function publishPoison(ctx: ChaosContext): Promise<number> {
  const js = jetstream(ctx.nc);
  const n0 = ctx.poisonMarkers.length;
  const next = () => {
    const marker = `poison:${ctx.runId}:${ctx.poisonMarkers.length + 1}`;
    ctx.poisonMarkers.push(marker);
    const h = natsHeaders();
    h.set(HDR_ORDER_ID, `${ctx.runId}-poison-${ctx.poisonMarkers.length}`);
    return { marker, h };
  };
  for (const service of SERVICES) {
    const a = next();
    await js.publish(
      `cmd.${service}.${ctx.rng.pick(['reserve', 'charge', 'award', 'create'])}`,
      `{not json ${a.marker}`,
      {
        headers: a.h,
        msgID: a.marker,
      },
    );
    const b = next();
    await js.publish(
      `cmd.${service}.unknown`,
      JSON.stringify({
        marker: b.marker,
        commandId: b.marker,
        orderId: `${ctx.runId}-poison`,
        seq: 'x',
      }),
      { headers: b.h, msgID: b.marker },
    );
  }
  const r = next();
  await js.publish(`reply.payment.charge`, `{"replyId":"${r.marker}",`, {
    headers: r.h,
    msgID: r.marker,
  });
  const a = next();
  await js.publish(
    `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.COMMANDS.svc-poison`,
    `advisory? ${a.marker}`,
    {
      msgID: a.marker,
    },
  );
  return ctx.poisonMarkers.length - n0;
}

async function providerFaults(ctx: ChaosContext, body: unknown): Promise<void> {
  for (const url of [ctx.config.providers.paymentUrl, ctx.config.providers.carrierUrl]) {
    const res = await fetch(`${url}/_control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${url}/_control/faults answered ${res.status}`);
  }
}

/** What an operator may press on an order in flight: the runs' ends the cleanup and the fencing answer. */
type OperatorAction = 'terminate' | 'reset FirstWorkflowTask' | 'reset LastWorkflowTask';

/**
 * Terminates or resets a few orders in flight, with Temporal's own CLI as an operator runs it. Providers
 * answer slowly meanwhile, so that orders are caught mid-saga; the orders acted on are this run's
 * newest whose latest run is still open, looked for until `count` are done or 20 s have passed.
 */
async function operatorActions(ctx: ChaosContext, count: number): Promise<string[]> {
  const temporal = await connectTemporalClient(ctx.config, 'cli');
  const bin = await temporalBinary(ctx.config.stack.binCacheDir, ctx.log);
  const cli = (...args: string[]) =>
    execFileAsync(bin, [...args, ...temporalCliFlags(ctx.config, 'cli')]);
  const done: string[] = [];
  const tried = new Set<string>();
  const until = Date.now() + 20_000;
  await providerFaults(ctx, { latencyMs: ctx.rng.int(300, 1200) });
  try {
    while (done.length < count && Date.now() < until) {
      const newest = [...ctx.load.accepted.keys()].filter((id) => !tried.has(id)).slice(-5);
      if (!newest.length) await delay(200);
      for (const orderId of newest) {
        tried.add(orderId);
        const workflowId = workflowIdFor(orderId);
        const running = await temporal.workflow
          .getHandle(workflowId)
          .describe()
          .then((d) => d.status.name === 'RUNNING')
          .catch(() => false);
        if (!running || done.length >= count) continue;
        const action = ctx.rng.pick<OperatorAction>([
          'terminate',
          'terminate',
          'reset FirstWorkflowTask',
          'reset LastWorkflowTask',
        ]);
        const args =
          action === 'terminate'
            ? ['workflow', 'terminate', '--workflow-id', workflowId]
            : ['workflow', 'reset', '--workflow-id', workflowId, '--type', action.split(' ')[1]!];
        try {
          await cli(...args, '--reason', 'chaos');
          done.push(`${action} ${orderId}`);
        } catch (err) {
          // The run may have closed meanwhile: Temporal refuses, and nothing was done.
          ctx.log(`${action} ${orderId} refused: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
  } finally {
    await providerFaults(ctx, { latencyMs: 0 });
    await temporal.connection.close();
  }
  return done;
}

/** Every fault kind the campaign injects, by the issue's numbering. */
export const FAULTS: FaultKind[] = [
  workerCrash('worker.before-publish', 'SIGKILL the Temporal worker before it publishes a command'),
  workerCrash(
    'worker.after-publish',
    'SIGKILL the Temporal worker after JetStream stored a command, before the activity completes',
  ),
  serviceCrash('service.before-commit', 2, 'SIGKILL a service before its transaction commits'),
  serviceCrash(
    'service.after-commit-before-ack',
    2,
    'SIGKILL a service after its commit, before the reply is published and the command acked',
  ),
  {
    name: 'service-kill-after-ack-before-reply',
    group: 2,
    summary:
      'a reply committed but unpublished while its command is done with: the service dies after its commit and the relay dies before publishing it',
    inject(ctx) {
      const service = ctx.rng.pick(SERVICES);
      return crashAt(ctx, [
        {
          proc: service,
          rules: [
            { point: 'service.after-commit-before-ack', scope: service, nth: ctx.rng.int(1, 3) },
          ],
        },
        {
          proc: 'outbox-relay',
          rules: [{ point: 'relay.before-publish', scope: service, nth: 1 }],
        },
      ]);
    },
  },
  {
    name: 'bridge-kill-after-signal',
    group: 2,
    summary: 'SIGKILL the reply bridge after the workflow has a reply, before the reply is acked',
    inject(ctx) {
      return crashAt(ctx, [
        {
          proc: 'reply-bridge',
          rules: [
            { point: 'bridge.after-signal-before-ack', scope: undefined, nth: ctx.rng.int(2, 10) },
          ],
        },
      ]);
    },
  },
  {
    name: 'nats-kill',
    group: 3,
    needsSingleServer: true,
    summary: 'SIGKILL nats-server and start it again on its store',
    async inject(ctx) {
      const down = ctx.rng.int(500, 3000);
      await killServer(ctx, 'nats', down);
      return `SIGKILL nats-server, down ${down} ms`;
    },
  },
  {
    name: 'nats-down-past-dedup',
    group: 3,
    needsSingleServer: true,
    summary: 'nats-server down for longer than the duplicate window',
    async inject(ctx) {
      const down = ctx.timing.duplicateWindowMs + ctx.rng.int(1000, 3000);
      await killServer(ctx, 'nats', down);
      return `SIGKILL nats-server, down ${down} ms (duplicate window ${ctx.timing.duplicateWindowMs} ms)`;
    },
  },
  {
    name: 'postgres-immediate-restart',
    group: 4,
    summary:
      'PostgreSQL stopped in immediate mode (no checkpoint, crash recovery at start) and started',
    async inject(ctx) {
      await stopPostgres(ctx.config.stack.dir, 'immediate');
      const down = ctx.rng.int(200, 2000);
      await delay(down);
      await restartStack(ctx);
      return `pg_ctl stop -m immediate, down ${down} ms, started again`;
    },
  },
  {
    name: 'temporal-restart',
    group: 5,
    temporal: 'dev',
    summary: 'SIGKILL the Temporal dev server and start it again on its SQLite file',
    async inject(ctx) {
      const down = ctx.rng.int(500, 3000);
      await killServer(ctx, 'temporal', down);
      return `SIGKILL temporal, down ${down} ms`;
    },
  },
  {
    name: 'proxy-nats',
    group: 6,
    needsSingleServer: true,
    summary:
      "a service's connection to NATS delayed, blackholed, reset, or with its replies dropped",
    async inject(ctx) {
      const service = ctx.rng.pick(SERVICES);
      const mode = proxyMode(ctx.rng);
      const ms = ctx.rng.int(2000, 7000);
      await cutConnection(ctx, ctx.natsProxies.get(service)!, mode, ms);
      return `${service} ↔ NATS: ${describeMode(mode)} for ${ms} ms`;
    },
  },
  {
    name: 'proxy-postgres',
    group: 6,
    summary:
      "a service's connection to PostgreSQL delayed, blackholed, reset, or with its replies dropped",
    async inject(ctx) {
      const service = ctx.rng.pick(SERVICES);
      const mode = proxyMode(ctx.rng);
      const ms = ctx.rng.int(2000, 7000);
      await cutConnection(ctx, ctx.pgProxies.get(service)!, mode, ms);
      return `${service} ↔ PostgreSQL: ${describeMode(mode)} for ${ms} ms`;
    },
  },
  {
    name: 'service-pause',
    group: 7,
    summary: 'a service paused (SIGSTOP) for longer than its AckWait, then resumed',
    async inject(ctx) {
      const service = ctx.rng.pick(SERVICES);
      const ms = ctx.timing.ackWaitMs + ctx.rng.int(1000, 3000);
      ctx.procs.signal(service, 'SIGSTOP');
      await delay(ms);
      ctx.procs.signal(service, 'SIGCONT');
      return `SIGSTOP ${service} for ${ms} ms (AckWait ${ctx.timing.ackWaitMs} ms)`;
    },
  },
  {
    name: 'duplicates',
    group: 8,
    summary: 'every command delivered twice, old replies replayed, reconcile signals repeated',
    async inject(ctx) {
      const windowMs = ctx.rng.int(4000, 8000);
      const orders = ctx.rng.shuffle([...ctx.load.accepted.keys()]).slice(0, 8);
      const reconciles = orders.flatMap((id) =>
        [1, 2, 3].map(() =>
          ctx.load.request('POST', `/orders/${encodeURIComponent(id)}/reconcile`, {}),
        ),
      );
      const [copied, replayed] = await Promise.all([
        duplicateCommands(ctx, windowMs),
        replayReplies(ctx, 25),
        Promise.allSettled(reconciles),
      ]);
      return `${copied} commands published twice in ${windowMs} ms, ${replayed} old replies replayed, ${reconciles.length} reconcile signals to ${orders.length} orders`;
    },
  },
  {
    name: 'poison',
    group: 9,
    summary: 'unparseable or meaningless messages in every stream',
    async inject(ctx) {
      const n = await publishPoison(ctx);
      return `${n} poison messages (commands of each service, replies, dead-letter advisories)`;
    },
  },
  {
    name: 'provider-drop-response',
    group: 10,
    summary: 'the payment provider and the carrier do the work and drop the response',
    async inject(ctx) {
      const n = ctx.rng.int(2, 5);
      await providerFaults(ctx, { dropResponseNext: n });
      await delay(ctx.rng.int(3000, 6000));
      await providerFaults(ctx, { dropResponseNext: 0 });
      return `each provider dropped up to ${n} responses after doing the work`;
    },
  },
  {
    name: 'operator-terminate-reset',
    group: 12,
    summary: "an operator terminates or resets orders in flight with Temporal's CLI",
    async inject(ctx) {
      const done = await operatorActions(ctx, ctx.rng.int(2, 4));
      return done.length ? done.join(', ') : 'no order was in flight to act on';
    },
  },
  {
    name: 'nats-cluster-node-kill',
    group: 11,
    summary:
      'SIGKILL one node of a three-node NATS cluster with R3 streams mid-run, restart it later',
    needsCluster: true,
    async inject(ctx) {
      const cluster = ctx.cluster!;
      // Half the time the JetStream meta leader, so a new one must be elected.
      const leader = await cluster.metaLeader();
      const byLeader = cluster.nodes.find((n) => n.name === leader);
      const node = byLeader && ctx.rng.chance(0.5) ? byLeader : ctx.rng.pick(cluster.nodes);
      const down = ctx.rng.int(5000, 15000);
      cluster.killNode(node.index);
      await delay(down);
      await cluster.restartNode(node.index);
      return `SIGKILL NATS node ${node.name}${node.name === leader ? ' (meta leader)' : ''}, down ${down} ms, rejoined`;
    },
  },
  {
    name: 'temporal-node-kill',
    group: 5,
    temporal: 'cluster',
    summary:
      'SIGKILL one node of the two-node Temporal cluster mid-run; the other takes its history shards over; restart it later',
    async inject(ctx) {
      const temporal = ctx.temporalCluster!;
      // Half the time the node owning the most shards, so that most of the work must move.
      const owned = await temporal.shardsOwned();
      const most = owned.indexOf(Math.max(...owned.map((n) => n ?? 0)));
      const index = ctx.rng.chance(0.5) ? most : ctx.rng.int(0, temporal.nodes.length - 1);
      const node = temporal.nodes[index]!;
      const killedAt = Date.now();
      temporal.killNode(index);
      const survivors = temporal.nodes.filter((n) => n.index !== index).map((n) => n.index);
      await waitFor(
        `the other Temporal node to own every history shard`,
        async () => {
          const now = await temporal.shardsOwned();
          return survivors.reduce((a, i) => a + (now[i] ?? 0), 0) === HISTORY_SHARDS;
        },
        { timeoutMs: 120_000, intervalMs: 250 },
      );
      const takeoverMs = Date.now() - killedAt;
      const down = takeoverMs + ctx.rng.int(2000, 8000);
      await delay(down - takeoverMs);
      await temporal.restartNode(index);
      return `SIGKILL Temporal node ${node.name} (owned ${owned[index] ?? '?'} of ${HISTORY_SHARDS} shards); shards taken over in ${(takeoverMs / 1000).toFixed(1)} s; down ${down} ms, rejoined`;
    },
  },
];

/**
 * The default plan of `--cluster` (three NATS nodes, two Temporal nodes): each node kill twice,
 * between faults that work the same on a cluster.
 */
export const CLUSTER_FAULTS = [
  'nats-cluster-node-kill',
  'temporal-node-kill',
  'service-kill-after-commit-before-ack',
  'worker-kill-after-publish',
  'nats-cluster-node-kill',
  'temporal-node-kill',
  'duplicates',
  'poison',
];

export const QUICK_FAULTS = [
  'service-kill-after-commit-before-ack',
  'worker-kill-after-publish',
  'nats-kill',
  'postgres-immediate-restart',
  'duplicates',
  'poison',
  'provider-drop-response',
  'operator-terminate-reset',
];

export function faultsByName(names: string[]): FaultKind[] {
  return names.map((n) => {
    const f = FAULTS.find((x) => x.name === n);
    if (!f)
      throw new Error(
        `unknown fault "${n}"; known faults: ${FAULTS.map((x) => x.name).join(', ')}`,
      );
    return f;
  });
}
