import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Config } from '../../src/platform/config';
import { createPool } from '../../src/platform/db/pool';
import type { Pool } from '../../src/platform/db/pool';
import { connectNats } from '../../src/platform/messaging/connection';
import { projectRoot } from '../../src/platform/paths';
import { setStock } from '../../src/services/inventory/service';
import { benchStackUp } from './bench-stack';
import { began, gitCommit, machine, positiveInt, progress, textTable } from './run-info';
import { renderChart } from './chart';
import type { Panel } from './chart';
import { DESIGN_TITLES, DESIGNS, profileProcessesInto, startDesign } from './designs';
import type { DesignName, RunningDesign } from './designs';
import { BENCH_SKUS, CompletionWatcher, Orders, percentile } from './load';
import type { Tracked } from './load';
import { clearLeftovers } from './leftovers';
import { ensureOutboxTopology } from './outbox-choreography';
import { ProcessSampler } from './procfs';
import type { ProcessFigures } from './procfs';
import { workflowFigures } from './temporal-figures';
import type { WorkflowFigures } from './temporal-figures';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * `npm run bench`: Shipshape, the synchronous chain and the outbox choreography, one after another on
 * the same local stack, with the same fake providers. Progress on stderr, a table on stdout, the
 * figures in tooling/bench/results/<timestamp>.json and the burst's chart beside them (and in docs/).
 */

interface Plan {
  quick: boolean;
  designs: DesignName[];
  rates: number[];
  stepMs: number;
  halfRateMs: number;
  burst: number;
  clients: number;
  providerLatencyMs: number;
  slowFactor: number;
  slowMs: number;
  drainTimeoutMs: number;
  burstDrainTimeoutMs: number;
  /** `--steady` or `--burst-only`: that one load, with each process's CPU per order. */
  focus?: Focus;
  steadyMs: number;
}

const COLOURS: Record<DesignName, string> = {
  shipshape: '#1f77b4',
  sync: '#d62728',
  outbox: '#2ca02c',
};

const round1 = (v: number) => (Number.isFinite(v) ? Math.round(v * 10) / 10 : null);

interface PhaseResult {
  orders: Tracked[];
  startedAt: number;
  loadEndsAt: number;
  drainedAt: number | undefined;
  timeline: TimelinePoint[];
}

interface TimelinePoint {
  t: number;
  accepted: number;
  done: number;
  backlog: number;
  acceptP99Ms: number | null;
  workerRssMb?: number;
}

/** Latency figures of a set of orders: accept (POST answered) and end to end (POST to final state). */
function latencies(orders: Tracked[]) {
  const ok = orders.filter((o) => o.httpStatus && o.httpStatus < 300);
  const accept = ok.map((o) => o.acceptMs!);
  const e2e = ok.filter((o) => o.doneAt !== undefined).map((o) => o.doneAt! - o.postedAt);
  return {
    posted: orders.length,
    accepted: ok.length,
    refused: orders.length - ok.length,
    completed: ok.filter((o) => o.status === 'COMPLETED').length,
    failed: ok.filter((o) => o.status && o.status !== 'COMPLETED').length,
    acceptP50Ms: round1(percentile(accept, 50)),
    acceptP99Ms: round1(percentile(accept, 99)),
    acceptMaxMs: round1(accept.length ? Math.max(...accept) : NaN),
    e2eP50Ms: round1(percentile(e2e, 50)),
    e2eP99Ms: round1(percentile(e2e, 99)),
  };
}

/**
 * When a step's backlog was gone: the time by which all its accepted orders but 1% (at least one) had
 * finished. One order held up by a single fault (a workflow task lost and retried after its 10 s
 * timeout) is not a backlog that fails to drain; undefined when more than that never finished.
 */
function backlogDrainedAt(orders: Tracked[]): number | undefined {
  const done = orders
    .filter((o) => o.httpStatus && o.httpStatus < 300)
    .map((o) => o.doneAt ?? Infinity)
    .sort((a, b) => a - b);
  const allowed = Math.max(1, Math.floor(done.length / 100));
  if (done.length <= allowed) return done.length ? Math.min(...done) : undefined;
  const at = done[done.length - 1 - allowed]!;
  return Number.isFinite(at) ? at : undefined;
}

/** How long after the phase began its last order was answered. */
function acceptedWithinSeconds(r: PhaseResult): number | null {
  const lastAccept = Math.max(...r.orders.map((o) => o.postedAt + (o.acceptMs ?? 0)));
  return round1((lastAccept - r.startedAt) / 1000);
}

class DesignRun {
  private phases = 0;
  readonly finished: Tracked[] = [];

  /**
   * Waits until every order of this design's earlier phases has finished (at most `timeoutMs`), so a
   * phase measures its own load and not the backlog an overloaded step left behind.
   */
  async settle(timeoutMs: number, say: (line: string) => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let reported = false;
    for (;;) {
      const { rows } = await this.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM app.orders
         WHERE order_id LIKE $1 AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
        [`b${this.runId}-${this.name}-%`],
      );
      const left = rows[0]?.n ?? 0;
      if (left === 0) return;
      if (Date.now() > deadline) {
        say(`${left} orders of earlier phases still unfinished; going on`);
        return;
      }
      if (!reported) say(`waiting for ${left} orders of earlier phases to finish`);
      reported = true;
      await delay(500);
    }
  }

  constructor(
    readonly name: DesignName,
    private readonly running: RunningDesign,
    private readonly pool: Pool,
    private readonly runId: string,
    private readonly sampler: ProcessSampler,
  ) {}

  /**
   * Runs `load` against the design and follows its orders until all are done or `drainTimeoutMs`
   * after the load's scheduled end. `loadMs` is how long the load is meant to take (open loop).
   */
  async phase(
    label: string,
    load: (o: Orders) => Promise<void>,
    opts: { loadMs?: number; drainTimeoutMs: number; timeline?: boolean },
  ): Promise<PhaseResult> {
    const prefix = `b${this.runId}-${this.name}-${++this.phases}${label}`;
    const orders = new Orders(this.running.target, prefix);
    const watcher = new CompletionWatcher(this.pool, orders, prefix);
    watcher.start(200);
    const startedAt = Date.now();
    const timeline: TimelinePoint[] = [];
    let lastAcceptCheck = startedAt;
    const sampleTimeline = () => {
      const now = Date.now();
      const all = [...orders.byId.values()];
      const accepted = all.filter((o) => o.httpStatus && o.httpStatus < 300);
      const done = accepted.filter((o) => o.doneAt !== undefined).length;
      const recent = all
        .filter(
          (o) =>
            o.acceptMs !== undefined &&
            o.postedAt + o.acceptMs > lastAcceptCheck &&
            o.postedAt + o.acceptMs <= now,
        )
        .map((o) => o.acceptMs!);
      lastAcceptCheck = now;
      const worker = this.sampler.currentRssMb()['temporal-worker'];
      timeline.push({
        t: (now - startedAt) / 1000,
        accepted: accepted.length,
        done,
        backlog: accepted.length - done,
        acceptP99Ms: recent.length ? round1(percentile(recent, 99)) : null,
        ...(worker !== undefined ? { workerRssMb: Math.round(worker) } : {}),
      });
    };
    const ticker = opts.timeline ? setInterval(sampleTimeline, 250) : undefined;
    const loading = load(orders);
    const loadEndsAt = startedAt + (opts.loadMs ?? 0);
    let drainedAt: number | undefined;
    const deadline = () => Math.max(loadEndsAt, Date.now() - 1) + opts.drainTimeoutMs;
    let settled = false;
    void loading.finally(() => (settled = true));
    let hardDeadline = loadEndsAt + opts.drainTimeoutMs;
    for (;;) {
      await delay(200);
      if (!settled) {
        hardDeadline = deadline();
        continue;
      }
      await watcher.poll();
      const accepted = orders.accepted();
      if (accepted.every((o) => o.doneAt !== undefined)) {
        drainedAt = Math.max(...accepted.map((o) => o.doneAt!), startedAt);
        break;
      }
      if (Date.now() > hardDeadline) break;
    }
    await loading;
    if (ticker) {
      sampleTimeline();
      clearInterval(ticker);
    }
    await watcher.stop();
    orders.close();
    const all = [...orders.byId.values()];
    this.finished.push(...all.filter((o) => o.doneAt !== undefined));
    return { orders: all, startedAt, loadEndsAt, drainedAt, timeline };
  }
}

async function setProviderLatency(config: Config, latencyMs: number): Promise<void> {
  for (const base of [config.providers.paymentUrl, config.providers.carrierUrl]) {
    const res = await fetch(`${base}/_control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latencyMs }),
    });
    if (!res.ok) throw new Error(`${base} refused the latency setting: ${res.status}`);
  }
}

/** Stock enough for any run, then the design's processes. */
async function startFresh(
  name: DesignName,
  config: Config,
  pool: Pool,
  env: NodeJS.ProcessEnv,
  logDir: string,
): Promise<RunningDesign> {
  for (const sku of BENCH_SKUS) await setStock(pool, sku, 1_000_000_000);
  progress(`${name}: starting its processes`);
  return startDesign(name, config, env, logDir);
}

async function runDesign(
  name: DesignName,
  plan: Plan,
  config: Config,
  pool: Pool,
  runId: string,
  env: NodeJS.ProcessEnv,
  logDir: string,
) {
  const running = await startFresh(name, config, pool, env, logDir);
  const sampler = new ProcessSampler(() => running.processes());
  const run = new DesignRun(name, running, pool, runId, sampler);
  const say = (line: string) => progress(`${name}: ${line}`);
  sampler.start(500);
  try {
    await setProviderLatency(config, plan.providerLatencyMs);

    // Warm-up at a low rate: connections, JIT, caches. The orders of its second half, once the first
    // ones have paid for cold starts, give the unloaded latency.
    const warm = await run.phase('w', (o) => o.openLoop(5, 6000), {
      loadMs: 6000,
      drainTimeoutMs: 30_000,
    });
    const unloaded = latencies(warm.orders.slice(Math.floor(warm.orders.length / 2)));
    say(
      `warm-up: ${unloaded.completed}/${unloaded.posted} of its second half completed, e2e p50 ${unloaded.e2eP50Ms} ms p99 ${unloaded.e2eP99Ms} ms`,
    );
    const graceMs = 2000 + 2 * (unloaded.e2eP50Ms ?? 500);

    // Maximum sustainable rate: step the open-loop rate up until a step's backlog does not drain
    // within the grace period (2 s + twice the unloaded e2e median) after the step.
    const steps: Record<string, unknown>[] = [];
    let maxRate = 0;
    for (const rate of plan.rates) {
      const r = await run.phase(`r${rate}`, (o) => o.openLoop(rate, plan.stepMs), {
        loadMs: plan.stepMs,
        drainTimeoutMs: plan.drainTimeoutMs,
      });
      const l = latencies(r.orders);
      const drainedAt = backlogDrainedAt(r.orders);
      const drainMs = drainedAt !== undefined ? drainedAt - r.loadEndsAt : undefined;
      const lastMs = r.drainedAt !== undefined ? r.drainedAt - r.loadEndsAt : null;
      const sustained =
        l.accepted >= 0.99 * l.posted && drainMs !== undefined && drainMs <= graceMs;
      steps.push({ rate, ...l, drainAfterMs: drainMs ?? null, lastDoneAfterMs: lastMs, sustained });
      say(
        `${rate}/s: ${l.accepted}/${l.posted} accepted, ${l.completed} completed, ` +
          `e2e p50 ${l.e2eP50Ms} ms p99 ${l.e2eP99Ms} ms, ` +
          (drainMs !== undefined
            ? `drained ${(drainMs / 1000).toFixed(1)} s after` +
              (lastMs !== null && lastMs - drainMs > 1000
                ? ` (the last straggler ${(lastMs / 1000).toFixed(1)} s)`
                : '')
            : 'not drained') +
          ` → ${sustained ? 'sustained' : 'NOT sustained'}`,
      );
      if (!sustained) break;
      maxRate = rate;
    }

    // End-to-end latency at half the maximum rate, once the last step's backlog is gone.
    await run.settle(plan.burstDrainTimeoutMs, say);
    const half = Math.max(1, Math.floor(maxRate / 2));
    const h = await run.phase(`h${half}`, (o) => o.openLoop(half, plan.halfRateMs), {
      loadMs: plan.halfRateMs,
      drainTimeoutMs: plan.drainTimeoutMs,
    });
    const atHalf = latencies(h.orders);
    say(
      `half rate ${half}/s: accept p99 ${atHalf.acceptP99Ms} ms, e2e p50 ${atHalf.e2eP50Ms} ms p99 ${atHalf.e2eP99Ms} ms`,
    );

    // The burst: N orders from C concurrent clients.
    await run.settle(plan.burstDrainTimeoutMs, say);
    say(`burst of ${plan.burst} orders from ${plan.clients} clients`);
    const b = await run.phase('b', (o) => o.burst(plan.burst, plan.clients), {
      drainTimeoutMs: plan.burstDrainTimeoutMs,
      timeline: true,
    });
    const burstLat = latencies(b.orders);
    const drainSeconds = b.drainedAt !== undefined ? (b.drainedAt - b.startedAt) / 1000 : null;
    const workerRss = b.timeline.map((p) => p.workerRssMb ?? 0);
    const burst = {
      orders: plan.burst,
      clients: plan.clients,
      ...burstLat,
      acceptSeconds: acceptedWithinSeconds(b),
      drainSeconds: drainSeconds !== null ? round1(drainSeconds) : null,
      completionsPerSec: drainSeconds ? round1(burstLat.accepted / drainSeconds) : null,
      maxBacklog: Math.max(0, ...b.timeline.map((p) => p.backlog)),
      ...(name === 'shipshape' ? { temporalWorkerPeakRssMb: Math.max(0, ...workerRss) } : {}),
      timeline: b.timeline,
    };
    say(
      `burst: accept p99 ${burst.acceptP99Ms} ms, all accepted in ${burst.acceptSeconds} s, ` +
        (drainSeconds !== null
          ? `drained in ${burst.drainSeconds} s (${burst.completionsPerSec}/s)`
          : 'did not drain in time'),
    );

    // Slow providers: the same load with every provider call ten times slower.
    let slowProviders: Record<string, unknown> | undefined;
    if (name !== 'outbox') {
      await run.settle(plan.burstDrainTimeoutMs, say);
      const latencyMs = plan.providerLatencyMs * plan.slowFactor;
      await setProviderLatency(config, latencyMs);
      // At the design's own half rate: what slower providers do to it, not what overload does.
      const s = await run.phase('s', (o) => o.openLoop(half, plan.slowMs), {
        loadMs: plan.slowMs,
        drainTimeoutMs: plan.drainTimeoutMs * 2,
      });
      await setProviderLatency(config, plan.providerLatencyMs);
      const sl = latencies(s.orders);
      slowProviders = { providerLatencyMs: latencyMs, rate: half, ...sl };
      say(
        `providers ×${plan.slowFactor} (${latencyMs} ms) at ${half}/s: accept p50 ${sl.acceptP50Ms} ms p99 ${sl.acceptP99Ms} ms, e2e p99 ${sl.e2eP99Ms} ms`,
      );
    }

    let workflow: WorkflowFigures | undefined;
    if (name === 'shipshape') {
      const ids = [...h.orders, ...warm.orders]
        .filter((o) => o.status === 'COMPLETED')
        .slice(0, 5)
        .map((o) => o.orderId);
      workflow = await workflowFigures(config, ids).catch((err: unknown) => {
        say(`could not read workflow figures: ${(err as Error).message}`);
        return undefined;
      });
      if (workflow)
        say(
          `per order: ${workflow.stateTransitions} state transitions, ${workflow.historyEvents} events, ${workflow.workflowTasks} workflow tasks`,
        );
    }

    sampler.stop();
    const processes = sampler.figures();
    const cpuMs = Object.values(processes).reduce((s, p) => s + p.cpuMs, 0);
    const completedOrders = run.finished.length;
    return {
      maxOrdersPerSec: maxRate,
      acceptP50Ms: atHalf.acceptP50Ms,
      acceptP99Ms: atHalf.acceptP99Ms,
      acceptMaxMs: atHalf.acceptMaxMs,
      e2eP50Ms: atHalf.e2eP50Ms,
      e2eP99Ms: atHalf.e2eP99Ms,
      halfRate: half,
      cpuMsPerOrder: completedOrders ? round1(cpuMs / completedOrders) : null,
      peakRssMb: Object.values(processes).reduce((s, p) => s + p.peakRssMb, 0),
      ordersCompleted: completedOrders,
      processes: processes satisfies Record<string, ProcessFigures>,
      steps,
      burst,
      ...(slowProviders ? { slowProviders } : {}),
      ...(workflow ? { workflow } : {}),
    };
  } finally {
    sampler.stop();
    progress(`${name}: stopping`);
    await running.stop();
  }
}

type DesignResult = Awaited<ReturnType<typeof runDesign>>;

/** One focused load after a warm-up: `--steady <rate>` or `--burst-only`. */
type Focus = { kind: 'steady'; rate: number } | { kind: 'burst' };

/**
 * `--steady <rate>` (one open-loop load for `--seconds`) or `--burst-only` (the burst alone), after a
 * warm-up, with each process's CPU per finished order measured over that load alone: where the time
 * goes, process by process.
 */
async function runFocused(
  name: DesignName,
  focus: Focus,
  plan: Plan,
  config: Config,
  pool: Pool,
  runId: string,
  env: NodeJS.ProcessEnv,
  logDir: string,
) {
  const running = await startFresh(name, config, pool, env, logDir);
  const say = (line: string) => progress(`${name}: ${line}`);
  const idle = new ProcessSampler(() => running.processes());
  try {
    await setProviderLatency(config, plan.providerLatencyMs);
    const warmRun = new DesignRun(name, running, pool, runId, idle);
    await warmRun.phase('w', (o) => o.openLoop(5, 3000), { loadMs: 3000, drainTimeoutMs: 30_000 });
    const sampler = new ProcessSampler(() => running.processes());
    const run = new DesignRun(name, running, pool, runId, sampler);
    sampler.start(500);
    let r: PhaseResult;
    if (focus.kind === 'steady') {
      say(`steady ${focus.rate}/s for ${plan.steadyMs / 1000} s`);
      r = await run.phase(`s${focus.rate}`, (o) => o.openLoop(focus.rate, plan.steadyMs), {
        loadMs: plan.steadyMs,
        drainTimeoutMs: plan.drainTimeoutMs,
      });
    } else {
      say(`burst of ${plan.burst} orders from ${plan.clients} clients`);
      r = await run.phase('b', (o) => o.burst(plan.burst, plan.clients), {
        drainTimeoutMs: plan.burstDrainTimeoutMs,
      });
    }
    sampler.stop();
    const l = latencies(r.orders);
    const done = run.finished.length;
    const perProcess = Object.entries(sampler.figures())
      .map(([p, f]) => ({ process: p, ...f, cpuMsPerOrder: done ? round1(f.cpuMs / done) : null }))
      .sort((a, b) => b.cpuMs - a.cpuMs);
    const cpuMs = perProcess.reduce((s, p) => s + p.cpuMs, 0);
    const drainMs = r.drainedAt !== undefined ? r.drainedAt - r.loadEndsAt : null;
    const acceptSeconds = acceptedWithinSeconds(r);
    say(
      `${l.accepted}/${l.posted} accepted` +
        (focus.kind === 'burst' ? ` in ${acceptSeconds} s` : '') +
        `, ${l.completed} completed; accept p50 ${l.acceptP50Ms} ms ` +
        `p99 ${l.acceptP99Ms} ms; e2e p50 ${l.e2eP50Ms} ms p99 ${l.e2eP99Ms} ms; ` +
        (drainMs !== null
          ? `drained ${(drainMs / 1000).toFixed(1)} s after the load`
          : 'not drained'),
    );
    for (const p of perProcess)
      say(
        `  ${p.process.padEnd(20)} ${String(p.cpuMsPerOrder).padStart(8)} CPU ms/order, ${p.peakRssMb} MB`,
      );
    const figures = {
      ...l,
      drainAfterMs: drainMs,
      cpuMsPerOrder: done ? round1(cpuMs / done) : null,
      processes: perProcess,
    };
    return focus.kind === 'steady'
      ? { steady: { rate: focus.rate, seconds: plan.steadyMs / 1000, ...figures } }
      : { burst: { orders: plan.burst, clients: plan.clients, acceptSeconds, ...figures } };
  } finally {
    idle.stop();
    progress(`${name}: stopping`);
    await running.stop();
  }
}

function table(results: Partial<Record<DesignName, DesignResult>>): string {
  const names = DESIGNS.filter((d) => results[d]);
  const rows: [string, (r: DesignResult) => unknown][] = [
    ['max sustained orders/s', (r) => r.maxOrdersPerSec],
    [
      'accept p50 / p99 / max (ms) at half rate',
      (r) => `${r.acceptP50Ms} / ${r.acceptP99Ms} / ${r.acceptMaxMs}`,
    ],
    ['e2e p50 / p99 (ms) at half rate', (r) => `${r.e2eP50Ms} / ${r.e2eP99Ms} (${r.halfRate}/s)`],
    ['CPU ms per order (all processes)', (r) => r.cpuMsPerOrder],
    ['peak RSS MB (sum of processes)', (r) => r.peakRssMb],
    ['burst accept p99 (ms)', (r) => r.burst.acceptP99Ms],
    ['burst: time to drain (s)', (r) => r.burst.drainSeconds ?? 'not drained'],
    ['burst: completions/s', (r) => r.burst.completionsPerSec],
    [
      'slow providers: accept p99 (ms)',
      (r) => (r.slowProviders ? r.slowProviders.acceptP99Ms : '-'),
    ],
    ['slow providers: e2e p99 (ms)', (r) => (r.slowProviders ? r.slowProviders.e2eP99Ms : '-')],
  ];
  return textTable(
    ['', ...names],
    rows.map(([label, f]) => [label, ...names.map((n) => String(f(results[n]!)))]),
  );
}

function chart(results: Partial<Record<DesignName, DesignResult>>, plan: Plan): string {
  const names = DESIGNS.filter((d) => results[d]);
  const panel = (title: string, unit: string, f: (p: TimelinePoint) => number | null): Panel => ({
    title,
    unit,
    series: names.map((n) => ({
      name: DESIGN_TITLES[n],
      colour: COLOURS[n],
      points: results[n]!.burst.timeline.filter((p) => f(p) !== null).map(
        (p) => [p.t, f(p)!] as [number, number],
      ),
    })),
  });
  return renderChart(`Burst of ${plan.burst} orders from ${plan.clients} clients`, [
    panel('Accept latency, p99 per 250 ms', 'ms', (p) => p.acceptP99Ms),
    panel('Orders completed', 'orders', (p) => p.done),
    panel('Backlog: accepted, not yet finished', 'orders', (p) => p.backlog),
  ]);
}

function planFrom(o: {
  quick?: boolean;
  designs: string;
  burst?: number;
  clients: number;
  steady?: number;
  burstOnly?: boolean;
  seconds: number;
}): Plan {
  if (o.steady !== undefined && o.burstOnly)
    throw new Error('--steady and --burst-only: choose one');
  const designs = o.designs.split(',').map((d) => d.trim());
  const unknown = designs.filter((d) => !(DESIGNS as readonly string[]).includes(d));
  if (unknown.length || !designs.length)
    throw new Error(
      `--designs: unknown design ${unknown.join(', ')}; choose from ${DESIGNS.join(', ')}`,
    );
  const quick = Boolean(o.quick);
  return {
    quick,
    designs: DESIGNS.filter((d) => designs.includes(d)),
    rates: quick
      ? [5, 10, 20, 40, 80, 160, 320]
      : [4, 6, 8, 10, 13, 16, 20, 25, 30, 40, 50, 65, 80, 100, 130, 160, 210, 280, 360, 450],
    stepMs: quick ? 4000 : 12_000,
    halfRateMs: quick ? 6000 : 20_000,
    burst: o.burst ?? (quick ? 500 : 2000),
    clients: o.clients,
    providerLatencyMs: 20,
    slowFactor: 10,
    slowMs: quick ? 5000 : 15_000,
    drainTimeoutMs: quick ? 15_000 : 60_000,
    burstDrainTimeoutMs: quick ? 120_000 : 600_000,
    ...(o.steady !== undefined ? { focus: { kind: 'steady', rate: o.steady } as const } : {}),
    ...(o.burstOnly ? { focus: { kind: 'burst' } as const } : {}),
    steadyMs: o.seconds * 1000,
  };
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('bench')
    .description(
      'Runs Shipshape, the synchronous chain and the outbox choreography one after another on the local bench stack ' +
        '(SHIPSHAPE_STACK_DIR, default .shipshape-bench; SHIPSHAPE_PORT_OFFSET, default 2150) and prints the figures. ' +
        'Writes tooling/bench/results/<timestamp>.json and .svg and copies the chart to docs/benchmarks.svg.',
    )
    .option(
      '--quick',
      'short steps, short drain timeouts and a burst of 500: a check that everything works, not figures to quote',
    )
    .addOption(
      new Option('--designs <list>', 'comma-separated designs to run').default(DESIGNS.join(',')),
    )
    .addOption(
      new Option('--burst <n>', 'orders in the burst (default 2000, 500 with --quick)').argParser(
        positiveInt,
      ),
    )
    .addOption(
      new Option('--clients <n>', 'concurrent clients in the burst')
        .argParser(positiveInt)
        .default(200),
    )
    .addOption(
      new Option(
        '--steady <rate>',
        "only a steady load at <rate> orders/s after a warm-up, with each process's CPU per order (where the time goes)",
      ).argParser(positiveInt),
    )
    .option(
      '--burst-only',
      "only the burst (--burst, --clients) after a warm-up, with each process's CPU per order",
    )
    .addOption(
      new Option('--seconds <n>', 'how long the --steady load lasts')
        .argParser(positiveInt)
        .default(30),
    )
    .option(
      '--cpu-profiles <dir>',
      "each design process writes a V8 CPU profile (.cpuprofile, for Chrome's DevTools) into <dir> when it stops",
    )
    .option('--no-docs-chart', 'do not copy the chart to docs/benchmarks.svg')
    .showHelpAfterError()
    // A usage mistake exits with 2, like the shipshape CLI's; --help with 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  program.parse(argv);
  const o = program.opts<{
    quick?: boolean;
    designs: string;
    burst?: number;
    clients: number;
    steady?: number;
    burstOnly?: boolean;
    seconds: number;
    cpuProfiles?: string;
    docsChart: boolean;
  }>();
  let plan: Plan;
  try {
    plan = planFrom(o);
  } catch (err) {
    // A mistake in the options: say which, without a stack trace.
    return program.error(`bench: ${(err as Error).message}`, { exitCode: 2 });
  }
  if (o.cpuProfiles) {
    mkdirSync(o.cpuProfiles, { recursive: true });
    profileProcessesInto(path.resolve(o.cpuProfiles));
  }

  const config = await benchStackUp(progress);
  // The designs' processes: the same stack, absolute paths, no API rate limit (a policy, not work).
  const env: NodeJS.ProcessEnv = {
    SHIPSHAPE_STACK_DIR: config.stack.dir,
    SHIPSHAPE_PORT_OFFSET: process.env.SHIPSHAPE_PORT_OFFSET,
    SHIPSHAPE_API_RATE_PER_MIN: '0',
    LOG_LEVEL: process.env.LOG_LEVEL,
  };
  const pool = createPool(config, 'migrator', { max: 4, applicationName: 'bench' });
  const nc = await connectNats(config, 'admin', 'bench-setup');
  await ensureOutboxTopology(config, nc, pool);
  const left = await clearLeftovers(config, pool, nc);
  await nc.close();
  progress(`bench stack cleared (${left.workflows} workflows of an earlier run terminated)`);

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const runId = Date.now().toString(36);
  const resultsDir = path.join(projectRoot, 'tooling', 'bench', 'results');
  const logDir = path.join(config.stack.dir, 'bench-logs', stamp);
  mkdirSync(resultsDir, { recursive: true });
  if (plan.focus) {
    const focused: Record<string, unknown> = {};
    const file = path.join(resultsDir, `${stamp}-${plan.focus.kind}.json`);
    try {
      for (const d of plan.designs) {
        focused[d] = await runFocused(d, plan.focus, plan, config, pool, runId, env, logDir);
        const out = { designs: focused, machine: machine(), commit: gitCommit(), plan };
        writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
      }
    } finally {
      await pool.end();
    }
    progress(`figures: ${path.relative(process.cwd(), file)}; process logs: ${logDir}`);
    return;
  }
  const results: Partial<Record<DesignName, DesignResult>> = {};
  const jsonFile = path.join(resultsDir, `${stamp}.json`);
  const svgFile = path.join(resultsDir, `${stamp}.svg`);
  // Written after every design, so an interrupted run still leaves what it measured.
  const save = (complete: boolean) => {
    const out = {
      designs: results,
      complete,
      machine: machine(),
      commit: gitCommit(),
      startedAt: new Date(began).toISOString(),
      plan: { ...plan },
    };
    writeFileSync(jsonFile, JSON.stringify(out, null, 2) + '\n');
    writeFileSync(svgFile, chart(results, plan));
  };
  try {
    for (const d of plan.designs) {
      results[d] = await runDesign(d, plan, config, pool, runId, env, logDir);
      save(false);
    }
  } finally {
    await pool.end();
  }
  save(true);
  if (o.docsChart) copyFileSync(svgFile, path.join(projectRoot, 'docs', 'benchmarks.svg'));
  process.stdout.write(table(results) + '\n');
  progress(
    `figures: ${path.relative(process.cwd(), jsonFile)}; chart: ${path.relative(process.cwd(), svgFile)}; process logs: ${logDir}`,
  );
}

main(process.argv).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
