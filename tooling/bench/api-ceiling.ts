import path from 'node:path';
import { setStock } from '../../src/services/inventory/queries';
import { Supervisor } from '../../src/processes/supervisor';
import { apiKeyFor } from './api-key';
import { BENCH_SKUS } from './load';
import type { Tracked } from './load';
import { byConnectionText, latencies, round1 } from './phases';
import type { BenchContext } from './phases';
import type { Plan } from './plan';
import { alive, nicenessOf } from './proc-tree';
import { ProcessSampler } from './procfs';
import type { LoadProcess } from './remote-load';
import { loadAverageAtStart, progress, textTable } from './run-info';
import { SKU_MIX } from './load';
import { stackStatus } from '../stack/stack';

/**
 * `--api-ceiling`: how many POST /orders the API answers per second with nothing else under load: the
 * API process alone (the process table's other processes work off what the API accepted, so none of
 * them runs; the API's own workflow starts still reach Temporal), loaded by the load process with N
 * clients, each posting its next order as soon as one is answered. By Little's law, N clients each
 * answered within T need the API to answer at least N ÷ T a second: the targets below set that floor.
 */

/** The latency targets and the throughput each needs. */
export const LATENCY_TARGETS = [
  { load: 'stream', clients: 16, p99Ms: 50 },
  { load: 'burst', clients: 100, p99Ms: 100 },
  { load: 'burst', clients: 200, p99Ms: 100 },
] as const;

/** Answers a second that `clients` clients need for every answer to come within `p99Ms` (Little's law). */
export const neededPerSec = (clients: number, p99Ms: number) => (clients * 1000) / p99Ms;

export interface CeilingStep {
  clients: number;
  orders: number;
  accepted: number;
  refusedBy: Record<string, number>;
  answersPerSec: number | null;
  acceptP50Ms: number | null;
  acceptP99Ms: number | null;
  acceptMaxMs: number | null;
  byConnection: ReturnType<typeof latencies>['byConnection'];
  connectionsOpened: number;
  /** CPU ms per answer of the API and of each server, over this step's load. */
  cpuMsPerAnswer: Record<string, number | null>;
}

function stepFigures(
  clients: number,
  orders: Tracked[],
  connectionsOpened: number,
): Omit<CeilingStep, 'cpuMsPerAnswer'> {
  const l = latencies(orders);
  const first = Math.min(...orders.map((o) => o.postedAt));
  const last = Math.max(...orders.map((o) => o.postedAt + (o.acceptMs ?? 0)));
  return {
    clients,
    orders: orders.length,
    accepted: l.accepted,
    refusedBy: l.refusedBy,
    answersPerSec: last > first ? round1((l.accepted * 1000) / (last - first)) : null,
    acceptP50Ms: l.acceptP50Ms,
    acceptP99Ms: l.acceptP99Ms,
    acceptMaxMs: l.acceptMaxMs,
    byConnection: l.byConnection,
    connectionsOpened,
  };
}

export async function runApiCeiling(
  plan: Plan,
  clients: number[],
  ctx: BenchContext,
  load: LoadProcess,
) {
  const { config, pool, runId, env, logDir } = ctx;
  for (const sku of BENCH_SKUS) await setStock(pool, sku, 1_000_000_000);
  progress('api ceiling: starting the API alone');
  const sup = new Supervisor({
    config,
    env,
    log: (line) => process.stderr.write(`  api: ${line}\n`),
    restart: false,
    readyTimeoutMs: 300_000,
    names: ['api'],
    logDir: path.join(logDir, 'api-ceiling'),
  });
  try {
    await sup.startAll();
  } catch (err) {
    await sup.stopAll();
    throw err;
  }
  const key = apiKeyFor(config, plan.apiKey);
  const target = {
    url: `http://127.0.0.1:${config.api.port}/orders`,
    headers: { authorization: `Bearer ${key.secret}` },
  };
  const apiPid = sup.pidOf('api');
  const conditions = {
    app: `node dist/workers/api.js alone, forked by the bench with the process table's options, on Node ${process.version}`,
    loadGenerator: `the load process (pid ${load.pid}) on Node ${load.node}, node:http keep-alive`,
    apiKey: key.kind,
    apiRateLimit: env.SHIPSHAPE_API_RATE_PER_MIN === '0' ? 'off' : 'as configured',
    skuMix: SKU_MIX,
    warmUp: 'before each client count, 5 orders a client (at most --orders) from as many clients',
    niceness: {
      api: apiPid ? nicenessOf(apiPid) : undefined,
      'load generator': nicenessOf(load.pid),
    },
    loadAverageAtStart,
  };
  progress(`api ceiling: conditions: ${JSON.stringify(conditions)}`);
  const servers: Record<string, { pid: number; withChildren?: boolean }> = {};
  for (const s of await stackStatus(config))
    if (s.pid !== null) servers[s.name] = { pid: s.pid, withChildren: s.name === 'postgres' };
  const steps: CeilingStep[] = [];
  try {
    for (const [i, c] of clients.entries()) {
      // A short load first, so connections, JIT and pools are warm before the one measured.
      const warm = load.orders(target, `b${runId}-ceiling-${i}w`);
      await warm.burst(Math.min(plan.ceilingOrders, c * 5), c);
      const sampler = new ProcessSampler(() => {
        const api = sup.pidOf('api');
        return { ...servers, ...(api && alive(api) ? { api: { pid: api } } : {}) };
      });
      sampler.start(500);
      const measured = load.orders(target, `b${runId}-ceiling-${i}m`);
      await measured.burst(plan.ceilingOrders, c);
      sampler.stop();
      const f = stepFigures(c, [...measured.byId.values()], measured.connectionsOpened());
      const cpuMsPerAnswer = Object.fromEntries(
        Object.entries(sampler.figures()).map(([n, p]) => [
          n,
          f.accepted ? round1(p.cpuMs / f.accepted) : null,
        ]),
      );
      steps.push({ ...f, cpuMsPerAnswer });
      progress(
        `api ceiling, ${c} clients: ${f.accepted}/${f.orders} answered 2xx` +
          (Object.keys(f.refusedBy).length ? ` (refused: ${JSON.stringify(f.refusedBy)})` : '') +
          `, ${f.answersPerSec}/s; accept p50 ${f.acceptP50Ms} ms p99 ${f.acceptP99Ms} ms max ${f.acceptMaxMs} ms` +
          `${byConnectionText(f.byConnection)}; ` +
          `CPU ms per answer: ${Object.entries(cpuMsPerAnswer)
            .map(([n, v]) => `${n} ${v}`)
            .join(', ')}`,
      );
    }
  } finally {
    progress('api ceiling: stopping the API');
    await sup.stopAll();
  }
  const targets = LATENCY_TARGETS.map((t) => {
    const step = steps.find((s) => s.clients === t.clients);
    const needed = neededPerSec(t.clients, t.p99Ms);
    return {
      ...t,
      neededPerSec: needed,
      measuredPerSec: step?.answersPerSec ?? null,
      measuredP99Ms: step?.acceptP99Ms ?? null,
      met:
        step && step.answersPerSec !== null && step.acceptP99Ms !== null
          ? step.answersPerSec >= needed && step.acceptP99Ms <= t.p99Ms
          : null,
    };
  });
  return { orders: plan.ceilingOrders, conditions, steps, targets };
}

export type ApiCeiling = Awaited<ReturnType<typeof runApiCeiling>>;

/** The ceiling's steps, and each target beside what it needs. */
export function ceilingTable(c: ApiCeiling): string {
  const steps = textTable(
    ['clients', 'answers/s', 'p50 ms', 'p99 ms', 'max ms', 'refused'],
    c.steps.map((s) => [
      String(s.clients),
      String(s.answersPerSec),
      String(s.acceptP50Ms),
      String(s.acceptP99Ms),
      String(s.acceptMaxMs),
      String(s.orders - s.accepted),
    ]),
  );
  const targets = textTable(
    ['target', 'needs (Little)', 'measured', 'met'],
    c.targets.map((t) => [
      `${t.load}: ${t.clients} clients, p99 ≤ ${t.p99Ms} ms`,
      `≥ ${t.neededPerSec}/s`,
      t.measuredPerSec === null
        ? 'not measured'
        : `${t.measuredPerSec}/s, p99 ${t.measuredP99Ms} ms`,
      t.met === null ? '-' : t.met ? 'yes' : 'no',
    ]),
  );
  return `${steps}\n\n${targets}`;
}
