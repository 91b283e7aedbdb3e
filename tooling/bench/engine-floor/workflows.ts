import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { FloorActivities } from './activities';

/**
 * The engine's floor: workflows that do no work of their own, so that all they cost is Temporal's.
 * `orderShaped` has an order's shape (one activity per step, one after another, then a local activity
 * for the outcome), with the options Shipshape's sends use; `startAndComplete` is one workflow task.
 */

const { step } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '40s',
  heartbeatTimeout: '30s',
  retry: { maximumAttempts: 1 },
});
const { outcome } = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '10s' });

export async function startAndComplete(): Promise<void> {
  // nothing: a start, one workflow task, a completion
}

export async function orderShaped(steps: number): Promise<void> {
  for (let i = 1; i <= steps; i++) await step(i);
  await outcome();
}
