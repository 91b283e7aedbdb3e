import {
  ApplicationFailure,
  condition,
  defineSignal,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { FloorActivities } from './activities';

/**
 * The engine's floor: workflows that do no work of their own, so that all they cost is Temporal's.
 * `orderShaped` has an order's shape (one activity per step, one after another, then a local activity
 * for the outcome), with the options Shipshape's sends use; `startAndComplete` is one workflow task.
 * The delivery shapes take each step's reply from the replier, a process of its own, as an order takes
 * a service's: `asyncActivity` as Shipshape does (an activity left open, completed by its task token),
 * `replyByUpdate` and `replyBySignal` publish from a local activity and take the reply as a Workflow
 * Update or a signal.
 */

/** How long a step waits for its reply: the open activity's heartbeat timeout, or a timer. */
const STEP_TIMEOUT = '30s';

const { step, sendStep } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '40s',
  heartbeatTimeout: STEP_TIMEOUT,
  retry: { maximumAttempts: 1 },
});
const { outcome, publish } = proxyLocalActivities<FloorActivities>({
  startToCloseTimeout: '10s',
});

/** A step's reply: its number. */
export const replyUpdate = defineUpdate<void, [number]>('reply');
export const replySignal = defineSignal<[number]>('reply');

export async function startAndComplete(): Promise<void> {
  // nothing: a start, one workflow task, a completion
}

export async function orderShaped(steps: number): Promise<void> {
  for (let i = 1; i <= steps; i++) await step(i);
  await outcome();
}

export async function asyncActivity(steps: number): Promise<void> {
  for (let i = 1; i <= steps; i++) await sendStep(i);
  await outcome();
}

/**
 * Publishes each step, then waits until the handler has recorded its reply. The wait has the step
 * timeout an open activity gets from its heartbeat timeout: a timer per step, as the product would
 * need to keep sending again when no answer comes.
 */
async function publishAndWait(
  kind: 'update' | 'signal',
  steps: number,
  replied: Set<number>,
): Promise<void> {
  for (let i = 1; i <= steps; i++) {
    await publish(kind, i);
    if (!(await condition(() => replied.has(i), STEP_TIMEOUT)))
      throw ApplicationFailure.nonRetryable(`no reply to step ${i} in ${STEP_TIMEOUT}`);
  }
  await outcome();
}

export async function replyByUpdate(steps: number): Promise<void> {
  const replied = new Set<number>();
  // Accepted once recorded: the replier's call returns when the update is accepted, as a bridge's
  // ack would wait for it.
  setHandler(replyUpdate, (n) => {
    replied.add(n);
  });
  await publishAndWait('update', steps, replied);
}

export async function replyBySignal(steps: number): Promise<void> {
  const replied = new Set<number>();
  setHandler(replySignal, (n) => {
    replied.add(n);
  });
  await publishAndWait('signal', steps, replied);
}
