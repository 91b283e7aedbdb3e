import { WorkflowNotFoundError } from '@temporalio/client';
import { markNeedsAttention, openOrdersOlderThan } from '../orders/order-store';
import type { OrderRow } from '../orders/order-store';
import { cleanUpClosedRun } from './closed-runs';
import { LOOKUPS_AT_ONCE } from './deps';
import type { ReconcilerDeps, ReconcilerSettings } from './deps';
import { inTurn } from '../platform/in-turn';
import type { ReconcilerState } from './state';

/** What the open-orders check did. */
export interface OpenOrdersReport {
  /** Accepted orders that had no workflow, now started. */
  started: string[];
  /** Orders whose latest run had closed unfinished, handed to a cleanup. */
  cleanups: string[];
  /** Orders marked as needing a person: tasks that keep failing, a workflow gone from Temporal. */
  attention: string[];
}

/**
 * Each order whose row has not ended, oldest first and older than the threshold, paged across rounds:
 * does Temporal still run it? A row without a workflow is started (the API stopped between recording
 * and starting it, or an operator deleted the run), unless it is older than the namespace's retention
 * (a week-old order must not ship a week late: it is marked for a person); an open run whose workflow
 * tasks keep failing is reported and marked, never compensated while it is open; a latest run that
 * closed unfinished gets its cleanup (the check behind the quicker closed-runs one, and the one that
 * restarts a cleanup that was itself terminated).
 */
export async function checkOpenOrders(
  deps: ReconcilerDeps,
  settings: ReconcilerSettings,
  state: ReconcilerState,
): Promise<OpenOrdersReport> {
  const report: OpenOrdersReport = { started: [], cleanups: [], attention: [] };
  const rows = await openOrdersPage(deps, settings, state);
  let retentionMs: number | undefined;
  const retention = async () => (retentionMs ??= await namespaceRetentionMs(deps));
  // A few at a time: a closed run's last view comes from a worker, which can take seconds.
  await inTurn(rows, LOOKUPS_AT_ONCE, (row) =>
    checkOpenOrder(deps, settings, state, row, report, retention),
  );
  deps.metrics?.failingTasks.set(state.failing.size);
  return report;
}

/** One order not ended: started, left alone, reported, or handed to a cleanup, as its latest run says. */
async function checkOpenOrder(
  deps: ReconcilerDeps,
  settings: ReconcilerSettings,
  state: ReconcilerState,
  row: OrderRow,
  report: OpenOrdersReport,
  retention: () => Promise<number>,
): Promise<void> {
  let latest;
  try {
    latest = await deps.temporal.workflow.getHandle(row.workflowId).describe();
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    const retentionMs = await retention();
    if (Date.now() - row.createdAt.getTime() > retentionMs) {
      await markNeedsAttention(
        deps.pool,
        row.orderId,
        `its workflow is no longer in Temporal and the order is older than the namespace's retention (${Math.round(retentionMs / 3_600_000)} h): it is not started again, so that it does not ship late; check what it holds and resolve it by hand`,
      );
      report.attention.push(row.orderId);
    } else if (await deps.orders.ensureStarted(row.orderId)) report.started.push(row.orderId);
    return;
  }
  if (latest.status.name === 'RUNNING') {
    const attempt = latest.raw.pendingWorkflowTask?.attempt ?? 0;
    if (attempt < settings.failingTaskAttempts) {
      state.failing.delete(row.orderId);
      return;
    }
    if (!state.failing.has(row.orderId))
      deps.log.error(
        { orderId: row.orderId, workflowId: row.workflowId, attempt },
        'workflow tasks keep failing: the order is stuck on a bug, see its history in the Temporal UI',
      );
    state.failing.add(row.orderId);
    await markNeedsAttention(
      deps.pool,
      row.orderId,
      `its workflow tasks keep failing: a bug in the workflow or its input; see the run's history in the Temporal UI, deploy a fix, then reset or reconcile it. Nothing is compensated while the run is open`,
    );
    report.attention.push(row.orderId);
    return;
  }
  state.failing.delete(row.orderId);
  if (latest.status.name === 'COMPLETED') return;
  const outcome = await cleanUpClosedRun(deps, settings, latest);
  if (outcome === 'started') report.cleanups.push(row.orderId);
  if (outcome === 'gave-up') report.attention.push(row.orderId);
}

/** The next page of rows not ended, older than the threshold; after the last page, the first again. */
async function openOrdersPage(
  deps: ReconcilerDeps,
  settings: ReconcilerSettings,
  state: ReconcilerState,
): Promise<OrderRow[]> {
  const rows = await openOrdersOlderThan(
    deps.pool,
    new Date(Date.now() - settings.thresholdMs),
    state.openOrdersAfter,
    settings.maxPerRound,
  );
  const last = rows[rows.length - 1];
  state.openOrdersAfter =
    rows.length < settings.maxPerRound || !last
      ? undefined
      : { createdAt: last.createdAt, orderId: last.orderId };
  return rows;
}

/** How long the namespace keeps a closed run, in ms. */
async function namespaceRetentionMs(deps: ReconcilerDeps): Promise<number> {
  const ns = await deps.temporal.workflowService.describeNamespace({ namespace: deps.namespace });
  const ttl = ns.config?.workflowExecutionRetentionTtl;
  return (Number(ttl?.seconds ?? 0) + (ttl?.nanos ?? 0) / 1e9) * 1000 || 24 * 3_600_000;
}
