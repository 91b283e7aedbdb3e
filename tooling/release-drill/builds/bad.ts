import { sleep } from '@temporalio/workflow';
import type { OrderWorkflowInput } from '../../../workflows/order-fulfillment';

export { orderCleanup } from '../../../workflows/order-cleanup';

/** The text every workflow task of the bad build fails with. */
export const BAD_BUILD_FAILURE =
  'release drill: this build fails every order after its first timer';

/**
 * Build D, a bad one: B's first command (so B can take its orders over), then a workflow task that
 * fails on every attempt. Its orders are pinned to it and stay stuck until moved.
 */
export async function orderFulfillment(_input: OrderWorkflowInput): Promise<never> {
  await sleep(1);
  throw new Error(BAD_BUILD_FAILURE);
}
