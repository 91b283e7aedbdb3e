import { sleep } from '@temporalio/workflow';
import { orderFulfillment as asItIs } from '../../workflows/order-fulfillment';
import type { OrderWorkflowInput } from '../../workflows/order-fulfillment';

export { orderCleanup } from '../../workflows/order-cleanup';

/**
 * The order workflow with a timer before its first step: a change that no recorded run replays, for
 * the replay test to show what it says about one.
 */
export async function orderFulfillment(input: OrderWorkflowInput) {
  await sleep(1);
  return asItIs(input);
}
