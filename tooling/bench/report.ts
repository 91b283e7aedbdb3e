import { renderChart } from './chart';
import type { Panel } from './chart';
import { DESIGN_TITLES, DESIGNS } from './designs';
import type { DesignName } from './designs';
import type { EngineCeiling } from './engine-ceiling';
import type { DesignResult } from './full-run';
import type { TimelinePoint } from './phases';
import type { Plan } from './plan';
import { textTable } from './run-info';

/** The run's text table and the burst's chart. */

const COLOURS: Record<DesignName, string> = {
  shipshape: '#1f77b4',
  sync: '#d62728',
  outbox: '#2ca02c',
};

export function table(
  results: Partial<Record<DesignName, DesignResult>>,
  ceiling?: EngineCeiling,
): string {
  const names = DESIGNS.filter((d) => results[d]);
  const rows: [string, (r: DesignResult, name: DesignName) => unknown][] = [
    ['max sustained orders/s', (r) => r.maxOrdersPerSec],
    [
      "… ÷ the engine's ceiling, same run",
      (_r, name) =>
        name === 'shipshape' && ceiling
          ? `${ceiling.shipshapeShare} (of ${ceiling.perSec}/s, ${ceiling.shape})`
          : '-',
    ],
    [
      'accept p50 / p99 / max (ms) at half rate',
      (r) => `${r.acceptP50Ms} / ${r.acceptP99Ms} / ${r.acceptMaxMs}`,
    ],
    ['e2e p50 / p99 (ms) at half rate', (r) => `${r.e2eP50Ms} / ${r.e2eP99Ms} (${r.halfRate}/s)`],
    [
      'wait=paid: answer p50 / p99 (ms) at half rate',
      (r) => (r.waitPaid ? `${r.waitPaid.acceptP50Ms} / ${r.waitPaid.acceptP99Ms}` : '-'),
    ],
    ['CPU ms per order (all processes)', (r) => r.cpuMsPerOrder],
    ['peak RSS MB (sum of processes)', (r) => r.peakRssMb],
    [
      'stream: accept p50 / p99 / max (ms)',
      (r) => `${r.stream.acceptP50Ms} / ${r.stream.acceptP99Ms} / ${r.stream.acceptMaxMs}`,
    ],
    ['stream: drained (orders/s)', (r) => r.stream.drainPerSec ?? 'not drained'],
    [
      'burst: accept p50 / p99 / max (ms)',
      (r) => `${r.burst.acceptP50Ms} / ${r.burst.acceptP99Ms} / ${r.burst.acceptMaxMs}`,
    ],
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
    rows.map(([label, f]) => [label, ...names.map((n) => String(f(results[n]!, n)))]),
  );
}

export function chart(results: Partial<Record<DesignName, DesignResult>>, plan: Plan): string {
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
