import { unendedOrders } from '../orders/order-store';
import { runPeriodically } from '../platform/periodic';
import { inTurn } from '../platform/in-turn';
import { orderIdOf } from '../../workflows/definitions';
import { cleanUpClosedRun, closedUnfinishedRuns } from './closed-runs';
import { LOOKUPS_AT_ONCE } from './deps';
import type { ReconcilerDeps, ReconcilerSettings } from './deps';
import { checkOpenOrders } from './open-orders';
import { undoOrphanEffects } from './orphan-effects';
import { reportOverdueOrders } from './overdue-orders';
import type { Orphan } from './orphan-effects';
import { ReconcilerState } from './state';
import { signalStuckOrders } from './stuck-orders';

export type { ReconcilerDeps, ReconcilerSettings } from './deps';
export { ReconcilerState } from './state';

export interface ReconcileReport {
  /** Running orders that made no progress for longer than the threshold, signalled to reconcile. */
  signalled: string[];
  /** Accepted orders that had no workflow, now started. */
  started: string[];
  /** Orders whose latest run closed before its saga finished, handed to a cleanup. */
  cleanups: string[];
  /** Ended orders whose services still held effects, and their cleanups. */
  orphans: Orphan[];
  /** Orders marked for a person: failing workflow tasks, a workflow gone, cleanups that gave up. */
  attention: string[];
  /** The oldest orders (at most 10) that have lived past their lifetime, for a person. */
  overdue: string[];
  /** Checks that failed this round (logged with their error); the next round tries them again. */
  failed: string[];
}

/** How far back the closed-runs check looks on its first round, and how far it overlaps the last. */
const CLOSED_LOOKBACK_MS = 24 * 3_600_000;
const CLOSED_OVERLAP_MS = 60_000;

/**
 * The quick check, every few seconds: runs closed unfinished since the last look (visibility), each
 * handed to a cleanup while it is its order's latest run.
 */
export async function cleanUpClosedRuns(
  deps: ReconcilerDeps,
  settings: ReconcilerSettings,
  state: ReconcilerState,
): Promise<string[]> {
  const lookedAt = new Date();
  const since = state.closedSince
    ? new Date(state.closedSince.getTime() - CLOSED_OVERLAP_MS)
    : new Date(lookedAt.getTime() - CLOSED_LOOKBACK_MS);
  const cleanups: string[] = [];
  const runs = await closedUnfinishedRuns(deps, since, settings.maxPerRound * 10);
  // Most closed runs belong to orders that ended (a reset's replaced run, a terminate after the end):
  // one query leaves them out before any is looked up in Temporal.
  const unended = await unendedOrders(
    deps.pool,
    runs.map((r) => orderIdOf(r.workflowId) ?? ''),
  );
  // A few at a time: each reads its closed run's last view from a worker, which can take seconds.
  await inTurn(
    runs.filter((r) => unended.has(orderIdOf(r.workflowId) ?? '')),
    LOOKUPS_AT_ONCE,
    async (run) => {
      if ((await cleanUpClosedRun(deps, settings, run)) === 'started')
        cleanups.push(run.workflowId.replace(/^order-/, ''));
    },
  );
  state.closedSince = lookedAt;
  return cleanups;
}

/**
 * One full round: closed runs, stuck orders (signalled), orders whose row and run disagree (started,
 * cleaned up or marked), and effects no live order accounts for (undone).
 */
export async function reconcileRound(
  deps: ReconcilerDeps,
  settings: ReconcilerSettings,
  state = new ReconcilerState(),
  opts: { orphans?: boolean } = {},
): Promise<ReconcileReport> {
  // Each check on its own: one that fails (Temporal or the database down a moment) is reported and
  // the others still run.
  const failed: string[] = [];
  const check = async <T>(what: string, none: T, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      deps.log.error({ err }, `reconciler: ${what} failed; the rest of the round goes on`);
      failed.push(what);
      return none;
    }
  };
  const closed = await check('closed runs', [], () => cleanUpClosedRuns(deps, settings, state));
  const signalled = await check('stuck orders', [], () => signalStuckOrders(deps, settings, state));
  const open = await check('open orders', { started: [], cleanups: [], attention: [] }, () =>
    checkOpenOrders(deps, settings, state),
  );
  const overdue = await check('orders past their lifetime', [], () => reportOverdueOrders(deps));
  const orphans =
    opts.orphans === false
      ? []
      : await check('effects of ended orders', [], () => undoOrphanEffects(deps, settings, state));
  const report: ReconcileReport = {
    signalled,
    started: open.started,
    cleanups: [...closed, ...open.cleanups],
    orphans,
    attention: open.attention,
    overdue,
    failed,
  };
  const { started, cleanups, attention } = report;
  if ([signalled, started, cleanups, orphans, attention].some((v) => v.length))
    deps.log.warn(report, 'reconciler acted');
  return report;
}

/** Runs the full round every period and the closed-runs check every `cleanupPeriodMs`, until stopped. */
export function startReconciler(
  deps: ReconcilerDeps,
  opts: ReconcilerSettings & { periodMs: number; cleanupPeriodMs: number },
) {
  const state = new ReconcilerState();
  const onError = (what: string) => (err: unknown) =>
    deps.log.error({ err }, `${what} failed; will retry`);
  // Both share the state: the full round's closed-runs check and the quick one only move its cursor.
  const quick = runPeriodically(
    async () => {
      const cleanups = await cleanUpClosedRuns(deps, opts, state);
      if (cleanups.length) deps.log.warn({ cleanups }, 'reconciler started cleanups');
    },
    opts.cleanupPeriodMs,
    onError('closed-runs check'),
  );
  const full = runPeriodically(
    () => reconcileRound(deps, opts, state),
    opts.periodMs,
    onError('reconcile round'),
  );
  return {
    async stop() {
      await Promise.all([quick.stop(), full.stop()]);
    },
  };
}
