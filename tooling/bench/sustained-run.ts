import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { conditionLines, conditionsOf } from './conditions';
import { CEILING_SHAPE, engineCeiling } from './engine-ceiling';
import type { EngineCeiling } from './engine-ceiling';
import { maxSustainedRate } from './full-run';
import type { SustainedStep } from './full-run';
import { percentile } from './load';
import { DesignRun, round1, setProviderLatency, startFresh } from './phases';
import type { BenchContext } from './phases';
import type { Plan } from './plan';
import { ProcessSampler, totalCpuMs } from './procfs';
import { progress, textTable } from './run-info';

/** One pair of `--sustained`: Shipshape's maximum sustained rate, then the engine's ceiling. */
export interface SustainedPair {
  run: number;
  maxOrdersPerSec: number;
  /** CPU ms per finished order over the warm-up and the steps, by process, and all of them. */
  cpuMsPerOrder: Record<string, number | null>;
  /** CPU ms per finished order, every process, over the step at the maximum sustained rate and its drain. */
  cpuMsPerOrderAtMax: number | null;
  /**
   * The engine's CPU per workflow ÷ Shipshape's per order at its maximum: the share of the ceiling
   * Shipshape could reach if both were bound by the same cores alone.
   */
  cpuBoundShare: number | null;
  steps: SustainedStep[];
  ceiling: EngineCeiling;
}

export interface SustainedFigures {
  pairs: SustainedPair[];
  /** Medians of the pairs, with the smallest and largest beside each. */
  median: {
    maxOrdersPerSec: Spread;
    ceilingPerSec: Spread;
    share: Spread;
    cpuMsPerOrder: Spread;
    ceilingCpuMsPerWorkflow: Spread;
    cpuMsPerOrderAtMax: Spread;
    cpuBoundShare: Spread;
  };
}

export interface Spread {
  median: number | null;
  min: number | null;
  max: number | null;
}

export function spreadOf(values: readonly (number | null)[]): Spread {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return {
    median: v.length ? percentile(v, 50) : null,
    min: v.length ? Math.min(...v) : null,
    max: v.length ? Math.max(...v) : null,
  };
}

/**
 * `--sustained`: Shipshape's maximum sustained rate (the full run's warm-up and bisection) and the
 * engine's ceiling, measured in turn `runs` times — Shipshape, the engine, Shipshape, … — so that a
 * machine that speeds up or slows down during the runs moves both figures of a pair alike. Each
 * Shipshape run starts on a fresh stack, as the full run's does.
 */
export async function runSustained(
  plan: Plan,
  runs: number,
  ctx: BenchContext,
): Promise<SustainedFigures> {
  const pairs: SustainedPair[] = [];
  for (let i = 1; i <= runs; i++) {
    const say = (line: string) => progress(`run ${i} of ${runs}: ${line}`);
    const running = await startFresh('shipshape', ctx);
    const sampler = new ProcessSampler(() => running.processes());
    const run = new DesignRun('shipshape', running, ctx.pool, `${ctx.runId}${i}`, sampler);
    let found: Awaited<ReturnType<typeof maxSustainedRate>>;
    try {
      await setProviderLatency(ctx.config, plan.providerLatencyMs);
      const conditions = conditionsOf(
        running,
        ctx,
        plan.providerLatencyMs,
        'open loop 5 orders/s for 6 s, then the steps',
      );
      if (i === 1) for (const line of conditionLines(conditions)) say(`conditions: ${line}`);
      sampler.start(500);
      found = await maxSustainedRate(run, plan, sampler, say);
    } finally {
      sampler.stop();
      await running.stop();
    }
    const done = run.finished.length;
    const processes = sampler.figures();
    const cpuMsPerOrder: Record<string, number | null> = Object.fromEntries(
      Object.entries(processes).map(([p, f]) => [p, done ? round1(f.cpuMs / done) : null]),
    );
    const all = totalCpuMs(processes);
    cpuMsPerOrder.all = done ? round1(all / done) : null;
    say(`sustained ${found.maxRate}/s; the engine's ceiling now`);
    const logDir = path.join(ctx.logDir, `ceiling-${i}`);
    mkdirSync(logDir, { recursive: true });
    const ceiling = await engineCeiling(plan.quick ? 5 : 20, logDir, found.maxRate);
    say(
      `engine ceiling ${ceiling.perSec}/s at ${ceiling.cpuMsPerWorkflow} CPU ms per workflow; ` +
        `Shipshape ${found.maxRate}/s = ${ceiling.shipshapeShare} of it`,
    );
    const atMax = found.steps.filter((s) => s.rate === found.maxRate && s.sustained).at(-1);
    const cpuMsPerOrderAtMax = atMax?.cpuMsPerOrder ?? null;
    const cpuBoundShare = cpuMsPerOrderAtMax
      ? Math.round((ceiling.cpuMsPerWorkflow / cpuMsPerOrderAtMax) * 100) / 100
      : null;
    pairs.push({
      run: i,
      maxOrdersPerSec: found.maxRate,
      cpuMsPerOrder,
      cpuMsPerOrderAtMax,
      cpuBoundShare,
      steps: found.steps,
      ceiling,
    });
  }
  return sustainedFigures(pairs);
}

/** The pairs with their medians and spread. */
export function sustainedFigures(pairs: SustainedPair[]): SustainedFigures {
  return {
    pairs,
    median: {
      maxOrdersPerSec: spreadOf(pairs.map((p) => p.maxOrdersPerSec)),
      ceilingPerSec: spreadOf(pairs.map((p) => p.ceiling.perSec)),
      share: spreadOf(pairs.map((p) => p.ceiling.shipshapeShare)),
      cpuMsPerOrder: spreadOf(pairs.map((p) => p.cpuMsPerOrder.all ?? null)),
      ceilingCpuMsPerWorkflow: spreadOf(pairs.map((p) => p.ceiling.cpuMsPerWorkflow)),
      cpuMsPerOrderAtMax: spreadOf(pairs.map((p) => p.cpuMsPerOrderAtMax)),
      cpuBoundShare: spreadOf(pairs.map((p) => p.cpuBoundShare)),
    },
  };
}

const spreadCell = (s: Spread) => (s.median === null ? '–' : `${s.median} (${s.min} … ${s.max})`);

/** The pairs, one a row, and their medians with the spread. */
export function sustainedTable(f: SustainedFigures): string {
  const rows = f.pairs.map((p) => [
    String(p.run),
    String(p.maxOrdersPerSec),
    String(p.ceiling.perSec),
    String(p.ceiling.shipshapeShare ?? '–'),
    String(p.cpuMsPerOrderAtMax ?? '–'),
    String(p.ceiling.cpuMsPerWorkflow),
    String(p.cpuBoundShare ?? '–'),
  ]);
  rows.push([
    'median (min … max)',
    spreadCell(f.median.maxOrdersPerSec),
    spreadCell(f.median.ceilingPerSec),
    spreadCell(f.median.share),
    spreadCell(f.median.cpuMsPerOrderAtMax),
    spreadCell(f.median.ceilingCpuMsPerWorkflow),
    spreadCell(f.median.cpuBoundShare),
  ]);
  return textTable(
    [
      'run',
      'Shipshape sustained orders/s',
      `engine ceiling (${CEILING_SHAPE})/s`,
      'share',
      'Shipshape CPU ms/order at its max',
      'engine CPU ms/workflow',
      'engine ÷ Shipshape CPU',
    ],
    rows,
  );
}
