import {
  ActivityCancellationType,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';

/** The order workflow's activities, with the options each kind of call runs under. */

type Activities = ReturnType<typeof createActivities>;

/**
 * How long one send keeps trying to hand its command to a broker that refuses it, beyond the step
 * timeout it then waits for the answer.
 */
const PUBLISH_BUDGET_MS = 15 * 60_000;

/**
 * One send of one command: a regular activity, so that it runs only once the workflow task that
 * decided it is in the history (a local activity would publish from a task that may time out and be
 * thrown away). The activity id is unique per send and travels with the command, so the service's
 * reply completes exactly this send. The heartbeat timeout is the step timeout: the activity stops
 * heartbeating once the command is published, so no answer in time times it out. One attempt: the
 * workflow decides about re-sends, with a fresh message id where one is needed.
 */
export const sendCommandActivity = (activityId: string, stepTimeoutMs: number) =>
  proxyActivities<Activities>({
    activityId,
    heartbeatTimeout: stepTimeoutMs,
    startToCloseTimeout: stepTimeoutMs + PUBLISH_BUDGET_MS,
    retry: { maximumAttempts: 1 },
    // A send that stops being waited for is left open: an answer already on its way still counts.
    cancellationType: ActivityCancellationType.TRY_CANCEL,
  }).sendCommand;

/** Reconcile's look at the owning service's record: quick, local, a few tries. */
export const { lookupReply } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '500 ms',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 10,
  },
});

/** The orders table: a write that must happen, retried for up to about 50 minutes of database outage. */
export const { recordOrderAccepted, recordOrderOutcome } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: {
    initialInterval: '500 ms',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 100,
  },
});
