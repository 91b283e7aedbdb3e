import { conditionLines, conditionsOf } from './conditions';
import type { DesignName } from './designs';
import {
  acceptedWithinSeconds,
  backlogDrainedAt,
  DesignRun,
  latencies,
  phaseFigures,
  phaseLine,
  round1,
  setProviderLatency,
  startFresh,
} from './phases';
import type { BenchContext } from './phases';
import type { Plan } from './plan';
import { ProcessSampler, totalCpuMs } from './procfs';
import type { ProcessFigures } from './procfs';
import { progress } from './run-info';
import { workflowFigures } from './temporal-figures';
import type { WorkflowFigures } from './temporal-figures';

/**
 * The full run of one design: a warm-up, the open-loop steps up to its maximum sustained rate, the
 * latencies at half that rate, the burst, and slower providers.
 */
export async function runDesign(name: DesignName, plan: Plan, ctx: BenchContext) {
  const { config, pool, runId } = ctx;
  const running = await startFresh(name, ctx);
  const sampler = new ProcessSampler(() => running.processes());
  const run = new DesignRun(name, running, pool, runId, sampler);
  const say = (line: string) => progress(`${name}: ${line}`);
  sampler.start(500);
  try {
    await setProviderLatency(config, plan.providerLatencyMs);
    const conditions = conditionsOf(
      running,
      ctx,
      plan.providerLatencyMs,
      'open loop 5 orders/s for 6 s (its second half gives the unloaded latency)',
    );
    for (const line of conditionLines(conditions)) say(`conditions: ${line}`);

    const { warm, maxRate, steps } = await maxSustainedRate(run, plan, sampler, say);

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

    // Callers who wait until the order is paid (POST /orders?wait=paid), at the same half rate: the
    // time to that answer beside the plain accept. Only Shipshape offers the wait.
    let waitPaid:
      (ReturnType<typeof latencies> & { rate: number; answeredPaid: number }) | undefined;
    if (name === 'shipshape') {
      await run.settle(plan.burstDrainTimeoutMs, say);
      const w = await run.phase(`w${half}`, (o) => o.openLoop(half, plan.halfRateMs), {
        loadMs: plan.halfRateMs,
        drainTimeoutMs: plan.drainTimeoutMs,
        query: '?wait=paid',
      });
      const wl = latencies(w.orders);
      const answeredPaid = w.orders.filter((o) => o.httpStatus === 200).length;
      waitPaid = { rate: half, ...wl, answeredPaid };
      say(
        `wait=paid at ${half}/s: answer p50 ${wl.acceptP50Ms} ms p99 ${wl.acceptP99Ms} ms ` +
          `(${answeredPaid} of ${wl.accepted} answered 200 within the wait); plain accept p50 ${atHalf.acceptP50Ms} ms`,
      );
    }

    // The stream: a few clients, each posting its next order once answered, while the stack drains them.
    await run.settle(plan.burstDrainTimeoutMs, say);
    say(`stream of ${plan.stream.orders} orders from ${plan.stream.clients} clients`);
    const st = await run.phase('t', (o) => o.burst(plan.stream.orders, plan.stream.clients), {
      drainTimeoutMs: plan.burstDrainTimeoutMs,
    });
    const stream = { ...plan.stream, ...phaseFigures(st) };
    say(`stream: ${phaseLine(st)}`);

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
    const cpuMs = totalCpuMs(processes);
    const completedOrders = run.finished.length;
    return {
      conditions,
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
      stream,
      burst,
      ...(slowProviders ? { slowProviders } : {}),
      ...(waitPaid ? { waitPaid } : {}),
      ...(workflow ? { workflow } : {}),
    };
  } finally {
    sampler.stop();
    progress(`${name}: stopping`);
    await running.stop();
  }
}

/** One step of the search for the maximum sustained rate. */
export interface SustainedStep extends ReturnType<typeof latencies> {
  rate: number;
  /** When the step's backlog was gone, after its load ended (`backlogDrainedAt`). */
  drainAfterMs: number | null;
  /** When its last order finished, after its load ended. */
  lastDoneAfterMs: number | null;
  sustained: boolean;
  /** CPU per finished order, every process sampled, over the step and its drain. */
  cpuMsPerOrder: number | null;
}

/**
 * A warm-up at a low rate, then the maximum sustained rate: step the open-loop rate up until a step's
 * backlog does not drain within the grace period (2 s + twice the unloaded e2e median) after the
 * step; then halve the gap between the last rate sustained and the first not, down to 1 order/s,
 * each try on an empty backlog. Each step's CPU per finished order, every process sampled, covers
 * the step and its drain.
 */
export async function maxSustainedRate(
  run: DesignRun,
  plan: Plan,
  sampler: ProcessSampler,
  say: (line: string) => void,
) {
  const cpuMsNow = () => totalCpuMs(sampler.figures());
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

  const steps: SustainedStep[] = [];
  const sustains = async (rate: number): Promise<boolean> => {
    const cpuBefore = cpuMsNow();
    const r = await run.phase(`r${rate}`, (o) => o.openLoop(rate, plan.stepMs), {
      loadMs: plan.stepMs,
      drainTimeoutMs: plan.drainTimeoutMs,
    });
    const l = latencies(r.orders);
    const drainedAt = backlogDrainedAt(r.orders);
    const drainMs = drainedAt !== undefined ? drainedAt - r.loadEndsAt : undefined;
    const lastMs = r.drainedAt !== undefined ? r.drainedAt - r.loadEndsAt : null;
    const sustained = l.accepted >= 0.99 * l.posted && drainMs !== undefined && drainMs <= graceMs;
    const cpuMsPerOrder = l.completed ? round1((cpuMsNow() - cpuBefore) / l.completed) : null;
    steps.push({
      rate,
      ...l,
      drainAfterMs: drainMs ?? null,
      lastDoneAfterMs: lastMs,
      sustained,
      cpuMsPerOrder,
    });
    say(
      `${rate}/s: ${l.accepted}/${l.posted} accepted, ${l.completed} completed, ` +
        `e2e p50 ${l.e2eP50Ms} ms p99 ${l.e2eP99Ms} ms, ` +
        (drainMs !== undefined
          ? `drained ${(drainMs / 1000).toFixed(1)} s after` +
            (lastMs !== null && lastMs - drainMs > 1000
              ? ` (the last straggler ${(lastMs / 1000).toFixed(1)} s)`
              : '')
          : 'not drained') +
        `, ${cpuMsPerOrder} CPU ms per order → ${sustained ? 'sustained' : 'NOT sustained'}`,
    );
    return sustained;
  };
  let maxRate = 0;
  let notSustained: number | undefined;
  for (const rate of plan.rates) {
    if (!(await sustains(rate))) {
      notSustained = rate;
      break;
    }
    maxRate = rate;
  }
  while (maxRate > 0 && notSustained !== undefined && notSustained - maxRate > 1) {
    const rate = Math.floor((maxRate + notSustained) / 2);
    await run.settle(plan.burstDrainTimeoutMs, say);
    if (await sustains(rate)) maxRate = rate;
    else notSustained = rate;
  }
  return { warm, maxRate, steps };
}

export type DesignResult = Awaited<ReturnType<typeof runDesign>>;
