import { integer, setting } from './setting';

/** The reconciler: how often it looks, what counts as stuck, and how much it takes on at once. */
export const reconcilerSettings = {
  periodMs: setting(
    'SHIPSHAPE_RECONCILE_PERIOD_MS',
    integer(30_000, 100),
    'how often it makes a full round (stuck orders, effects no order accounts for)',
  ),
  thresholdMs: setting(
    'SHIPSHAPE_RECONCILE_THRESHOLD_MS',
    integer(120_000, 0),
    'how long an order may go without progress before it counts as stuck',
  ),
  maxPerRound: setting(
    'SHIPSHAPE_RECONCILE_MAX',
    integer(100, 1, 100_000),
    'orders one round looks at, oldest first; the next round goes on from there',
  ),
  cleanupPeriodMs: setting(
    'SHIPSHAPE_CLEANUP_PERIOD_MS',
    integer(5_000, 100),
    'how often it looks for runs that closed before their saga finished',
  ),
  maxCleanups: setting(
    'SHIPSHAPE_MAX_CLEANUPS',
    integer(3, 1, 1_000),
    'cleanups one order gets before it is left to an operator',
  ),
  failingTaskAttempts: setting(
    'SHIPSHAPE_FAILING_TASK_ATTEMPTS',
    integer(3, 2, 1_000),
    "attempts after which an open run's workflow task counts as failing (reported, never compensated)",
  ),
};
