import { sleep } from '@temporalio/workflow';
import { orderFulfillment as asItIs } from '../../../workflows/order-fulfillment';
import type { OrderWorkflowInput } from '../../../workflows/order-fulfillment';

export { orderCleanup } from '../../../workflows/order-cleanup';

/** Build C: another change (a longer timer), ramped and then rolled back to B. */
export async function orderFulfillment(input: OrderWorkflowInput) {
  await sleep(2);
  return asItIs(input);
}
