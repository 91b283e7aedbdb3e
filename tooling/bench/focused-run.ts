import { conditionLines, conditionsOf } from './conditions';
import type { DesignName } from './designs';
import { sideBySide, startOutsideStream } from './outside-check';
import type { OutsideFigures } from './outside-client';
import {
  DesignRun,
  phaseFigures,
  phaseLine,
  round1,
  setProviderLatency,
  startFresh,
} from './phases';
import type { BenchContext } from './phases';
import type { PhaseResult } from './phases';
import type { Focus, Plan } from './plan';
import { ProcessSampler, totalCpuMs } from './procfs';
import { progress } from './run-info';

/**
 * `--steady <rate>` (one open-loop load for `--seconds`), `--burst-only` (the burst alone) or
 * `--stream` (the stream, right after the design starts and again warm), after a warm-up, with each
 * process's CPU per finished order measured over that load alone: where the time goes, process by
 * process.
 */
export async function runFocused(
  name: DesignName,
  focus: Exclude<Focus, { kind: 'api-ceiling' | 'sustained' }>,
  plan: Plan,
  ctx: BenchContext,
) {
  const { config, pool, runId } = ctx;
  const running = await startFresh(name, ctx);
  const say = (line: string) => progress(`${name}: ${line}`);
  const idle = new ProcessSampler(() => running.processes());
  // `label` goes into the orders' ids: letters only.
  const stream = (run: DesignRun, label: 'c' | 't', title: string) => {
    say(`${title}: ${plan.stream.orders} orders from ${plan.stream.clients} clients`);
    return run.phase(label, (o) => o.burst(plan.stream.orders, plan.stream.clients), {
      drainTimeoutMs: plan.burstDrainTimeoutMs,
    });
  };
  /**
   * A user's stream meets a stack that drains what came before it: `measured` runs once a backlog of as
   * many orders, posted the same way, has all its workflows started; the backlog drains meanwhile.
   */
  const whileDraining = async <T>(
    run: DesignRun,
    label: 'd' | 'e',
    measured: () => Promise<T>,
  ): Promise<T> => {
    const { orders, clients } = plan.stream;
    say(
      `backlog: ${orders} orders from ${clients} clients, draining while the next stream is posted`,
    );
    const backlog = run.phase(label, (o) => o.burst(orders, clients), {
      drainTimeoutMs: plan.burstDrainTimeoutMs,
    });
    await run.untilStarted(label, orders, plan.burstDrainTimeoutMs, say);
    const result = await measured();
    await backlog;
    return result;
  };
  const warmUp =
    (focus.kind === 'stream' ? 'the cold stream right after the start, then ' : '') +
    'open loop 5 orders/s for 3 s, after every earlier order finished' +
    (focus.kind === 'stream'
      ? `; each stream after it posted once a backlog of ${plan.stream.orders} orders has started and drains`
      : '');
  try {
    await setProviderLatency(config, plan.providerLatencyMs);
    const conditions = conditionsOf(running, ctx, plan.providerLatencyMs, warmUp);
    for (const line of conditionLines(conditions)) say(`conditions: ${line}`);
    const warmRun = new DesignRun(name, running, pool, runId, idle);
    // Right after the design starts: what a stream meets while the processes are still warming up.
    const cold = focus.kind === 'stream' ? await stream(warmRun, 'c', 'cold stream') : undefined;
    if (cold) say(`cold stream: ${phaseLine(cold)}`);
    await warmRun.settle(plan.burstDrainTimeoutMs, say);
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
    } else if (focus.kind === 'burst') {
      say(`burst of ${plan.burst} orders from ${plan.clients} clients`);
      r = await run.phase('b', (o) => o.burst(plan.burst, plan.clients), {
        drainTimeoutMs: plan.burstDrainTimeoutMs,
      });
    } else {
      r = await whileDraining(run, 'd', () => stream(run, 't', 'stream'));
    }
    sampler.stop();
    const done = run.finished.length;
    const perProcess = Object.entries(sampler.figures())
      .map(([p, f]) => ({ process: p, ...f, cpuMsPerOrder: done ? round1(f.cpuMs / done) : null }))
      .sort((a, b) => b.cpuMs - a.cpuMs);
    const cpuMs = totalCpuMs(perProcess);
    say(phaseLine(r));
    for (const p of perProcess)
      say(
        `  ${p.process.padEnd(20)} ${String(p.cpuMsPerOrder).padStart(8)} CPU ms/order, ${p.peakRssMb} MB`,
      );
    const figures = {
      ...phaseFigures(r),
      cpuMsPerOrder: done ? round1(cpuMs / done) : null,
      processes: perProcess,
    };
    if (focus.kind === 'steady')
      return {
        conditions,
        steady: { rate: focus.rate, seconds: plan.steadyMs / 1000, ...figures },
      };
    if (focus.kind === 'burst')
      return { conditions, burst: { orders: plan.burst, clients: plan.clients, ...figures } };
    // The same stream from an outside client, right after the bench's and under the same conditions (a
    // backlog as large draining): do the two agree?
    let outside: Record<string, unknown> | undefined;
    if (plan.outsideCheck && name === 'shipshape') {
      await run.settle(plan.burstDrainTimeoutMs, say);
      // Its warm-up (by default one order a client: its connections open) on the settled stack; the
      // bench's load process is warm by its stream. Its measured stream then starts at the moment the
      // bench's did: as soon as its backlog has started.
      const warmUp = plan.outsideWarmUp;
      say(`outside client: starting, ${warmUp} orders of warm-up not counted`);
      const outsideClient = await startOutsideStream(
        running.target,
        plan.stream.orders,
        plan.stream.clients,
        warmUp,
        plan.outsideClient,
        `b${runId}-${name}-outside`,
      );
      await warmRun.settle(plan.burstDrainTimeoutMs, say);
      let o: OutsideFigures;
      try {
        o = await whileDraining(warmRun, 'e', () => {
          say(`outside client: ${plan.stream.orders} orders from ${plan.stream.clients} clients`);
          return outsideClient.go();
        });
      } finally {
        outsideClient.stop();
      }
      const { table, agreement } = sideBySide(figures, o);
      for (const line of table.split('\n')) say(`  ${line}`);
      say(
        `bench and outside client ${agreement.agree ? 'agree' : 'do NOT agree'} within 1.5× at p50 and p99`,
      );
      outside = { ...o, ...agreement };
      await run.settle(plan.burstDrainTimeoutMs, say);
    }
    return {
      conditions,
      stream: { ...plan.stream, cold: phaseFigures(cold!), warm: figures },
      ...(outside ? { outsideClient: outside } : {}),
    };
  } finally {
    idle.stop();
    progress(`${name}: stopping`);
    await running.stop();
  }
}
