import { integer, setting } from './setting';

/**
 * How long what deduplicates is kept, and how often it is pruned (docs/failures.md, "Bounded data").
 * A command of an order may arrive for as long as Temporal keeps a run of it that an operator could
 * reset: the namespace's retention plus the longest an order lives is the least each retention may be.
 */
export const retentionSettings = {
  namespaceHours: setting(
    'SHIPSHAPE_NAMESPACE_RETENTION_HOURS',
    integer(168, 1),
    'how long the namespace keeps closed runs (setup sets it so)',
  ),
  orderLifetimeHours: setting(
    'SHIPSHAPE_ORDER_LIFETIME_HOURS',
    integer(168, 1),
    'the longest an order lives, a wait for an operator included',
  ),
  commandHours: setting(
    'SHIPSHAPE_COMMAND_RETENTION_HOURS',
    integer(720, 1),
    "how long a service keeps its record of an order's commands, pruned whole once all of it is this old",
  ),
  deadLetterHours: setting(
    'SHIPSHAPE_DEAD_LETTER_RETENTION_HOURS',
    integer(720, 1),
    'how long the reply bridge keeps a dead letter',
  ),
  prunePeriodMs: setting(
    'SHIPSHAPE_PRUNE_PERIOD_MS',
    integer(600_000, 1_000),
    'how often each service and the reply bridge prune what is past its retention',
  ),
};
