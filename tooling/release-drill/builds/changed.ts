import { sleep } from '@temporalio/workflow';
import { orderFulfillment as asItIs } from '../../../workflows/order-fulfillment';
import type { OrderWorkflowInput } from '../../../workflows/order-fulfillment';

export { orderCleanup } from '../../../workflows/order-cleanup';

/**
 * Build B: a timer before the first step. A's histories start with another command, so B could not
 * replay them: A's orders must finish on A.
 */
export async function orderFulfillment(input: OrderWorkflowInput) {
  await sleep(1);
  return asItIs(input);
}
