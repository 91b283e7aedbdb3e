import type { DesignName } from './designs';
import {
  acceptedWithinSeconds,
  DesignRun,
  latencies,
  round1,
  setProviderLatency,
  startFresh,
} from './phases';
import type { BenchContext } from './phases';
import type { PhaseResult } from './phases';
import type { Focus, Plan } from './plan';
import { ProcessSampler } from './procfs';
import { progress } from './run-info';

/**
 * `--steady <rate>` (one open-loop load for `--seconds`) or `--burst-only` (the burst alone), after a
 * warm-up, with each process's CPU per finished order measured over that load alone: where the time
 * goes, process by process.
 */
export async function runFocused(name: DesignName, focus: Focus, plan: Plan, ctx: BenchContext) {
  const { config, pool, runId } = ctx;
  const running = await startFresh(name, ctx);
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
