import { integer, setting } from './setting';

/**
 * What each order's workflow is started with (workflows read no environment): how long it waits and
 * how often it tries. A run keeps the settings it started with.
 */
export const workflowSettings = {
  stepTimeoutMs: setting(
    'SHIPSHAPE_STEP_TIMEOUT_MS',
    integer(30_000, 100),
    'how long a step waits for its reply before the command is sent again',
  ),
  stepMaxSends: setting(
    'SHIPSHAPE_STEP_MAX_SENDS',
    integer(5, 1, 1_000),
    'how many times one command is sent before the step gives up',
  ),
  compensationRounds: setting(
    'SHIPSHAPE_COMPENSATION_ROUNDS',
    integer(3, 1, 1_000),
    'rounds of sends a compensation gets before the order asks an operator (NEEDS_ATTENTION)',
  ),
  loyaltyRetryMs: setting(
    'SHIPSHAPE_LOYALTY_RETRY_MS',
    integer(60_000, 100),
    "the pause between background retries of a completed order's loyalty points",
  ),
};
