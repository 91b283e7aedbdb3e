import { inTurn } from '../../src/platform/in-turn';
import { waitFor } from '../../src/platform/wait';
import { temporal } from '@temporalio/proto';
import { progress } from '../bench/run-info';
import { place } from '../bench/drill-orders';
import type { DrillOrders, Placed } from '../bench/drill-orders';
import type { Build } from './builds';
import { retireWorker } from './builds';
import { drainage, runVersion } from './routing';
import type { Routing } from './routing';
import type { OrderRecord } from './tally';

/** The drill's state: its orders, which build each is on, and what went wrong. */

export interface Tracked extends OrderRecord {
  placed: Placed;
  /** The build an operator moved it to, expected to complete it. */
  movedTo?: string;
}

export interface DrainageChange {
  build: string;
  status: string;
  /** ms since the drill began. */
  atMs: number;
  /** Its orders still open, as the drill counts them. */
  openOrders: number;
}

export interface Drill extends DrillOrders {
  routing: Routing;
  builds: Build[];
  orders: Tracked[];
  drainage: DrainageChange[];
  violations: string[];
  began: number;
}

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export const labelOf = (d: Drill, buildId: string | undefined) =>
  buildId === undefined ? '?' : (d.builds.find((b) => b.buildId === buildId)?.label ?? buildId);

export const build = (d: Drill, label: Build['label']) => d.builds.find((b) => b.label === label)!;

/** "3 on A, 1 on B": where orders started. */
export function where(orders: readonly Tracked[]): string {
  const n = new Map<string, number>();
  for (const o of orders) n.set(o.startedOn ?? '?', (n.get(o.startedOn ?? '?') ?? 0) + 1);
  return [...n].map(([label, k]) => `${k} on ${label}`).join(', ') || 'none';
}

/** Places `n` orders and waits for each run's first workflow task, which pins it to a build. */
export async function placeOrders(d: Drill, phase: string, n: number): Promise<Tracked[]> {
  const placed = await inTurn(range(n), 5, () => place(d));
  return inTurn(placed, 5, async (o) => {
    const buildId = await waitFor(
      `order ${o.orderId}'s first workflow task`,
      async () => (await runVersion(d.routing, o.orderId)).buildId,
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    const t: Tracked = { orderId: o.orderId, phase, startedOn: labelOf(d, buildId), placed: o };
    d.orders.push(t);
    return t;
  });
}

/**
 * Places `perStep` orders while a build ramps, and more (up to five rounds) until `atLeast` start on
 * it: a ramp picks orders by their workflow id, so a small one may pass over a small batch.
 */
export async function placeDuringRamp(
  d: Drill,
  phase: string,
  perStep: number,
  ramped: Build['label'],
  atLeast = 1,
): Promise<Tracked[]> {
  const all: Tracked[] = [];
  for (let round = 0; round < 5; round++) {
    all.push(...(await placeOrders(d, phase, perStep)));
    if (all.filter((o) => o.startedOn === ramped).length >= atLeast) break;
  }
  return all;
}

/** Notes each open order that closed, and the build it closed on. */
export async function refresh(d: Drill): Promise<void> {
  await inTurn(
    d.orders.filter((o) => !o.completedOn),
    10,
    async (o) => {
      const v = await runVersion(d.routing, o.orderId);
      if (v.closed) o.completedOn = labelOf(d, v.buildId);
    },
  );
}

const openOn = (d: Drill, label: string) =>
  d.orders.filter((o) => !o.completedOn && (o.movedTo ?? o.startedOn) === label).length;

/**
 * Prints the build's drainage as Temporal reports it, each time it changes, until DRAINED and none
 * of its orders is open; then retires its worker. Temporal saying DRAINED while the drill still counts
 * an order open on the build is a violation: an operator going by it would strand that order.
 */
export async function drainAndRetire(d: Drill, b: Build): Promise<void> {
  let last = '';
  let lastOpen = -1;
  let lastPrinted = 0;
  let early = false;
  await waitFor(
    `build ${b.label} to drain`,
    async () => {
      // Drainage first, then the orders: one counted open was still open when Temporal answered.
      const status = await drainage(d.routing, b.buildId);
      await refresh(d);
      const open = openOn(d, b.label);
      // The status at each change; the open count at most every 10 s between.
      if (status !== last || (open !== lastOpen && Date.now() - lastPrinted > 10_000)) {
        progress(`  build ${b.label}: ${status}, ${open} of its orders open`);
        if (status !== last)
          d.drainage.push({ build: b.label, status, atMs: Date.now() - d.began, openOrders: open });
        [last, lastOpen, lastPrinted] = [status, open, Date.now()];
      }
      if (status !== 'DRAINED') return false;
      // Its worker stays until they close all the same: retired, it would strand them.
      if (open > 0 && !early) {
        early = true;
        d.violations.push(
          `build ${b.label} reported DRAINED while ${open} of its orders were open`,
        );
      }
      return open === 0;
    },
    { timeoutMs: 900_000, intervalMs: 1000 },
  );
  await retireWorker(b);
  progress(`  build ${b.label}'s worker retired: nothing is pinned to it`);
}

/** Waits until the task queue routes new workflows as asked (the change reaches it a little later). */
export async function routedAs(
  d: Drill,
  current: Build['label'],
  ramping?: { label: Build['label']; percent: number },
): Promise<void> {
  const { namespace, taskQueue } = d.config.temporal;
  await waitFor(`task queue "${taskQueue}" routing to ${current}`, async () => {
    const r = await d.routing.temporal.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    const v = r.versioningInfo;
    const ramp = v?.rampingDeploymentVersion?.buildId || undefined;
    return (
      v?.currentDeploymentVersion?.buildId === build(d, current).buildId &&
      ramp === (ramping && build(d, ramping.label).buildId) &&
      (!ramping || Math.abs((v?.rampingVersionPercentage ?? 0) - ramping.percent) < 0.01)
    );
  });
}
