import type { JetStreamManager } from '@nats-io/jetstream';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ALL_CONSUMERS } from '../../processes/table';

export interface BacklogRow {
  kind: 'consumer' | 'task-queue';
  /** `<stream>/<consumer>` or `<task queue> (workflow|activity)`. */
  name: string;
  pending: number;
  oldestAgeSeconds: number;
  /** A counter that only grows as work is done (acked messages); the basis of the rate. */
  doneCounter?: number;
}

/** Pending (not yet delivered + delivered but unacked) and the age of the oldest unacked message, per consumer. */
export async function consumerBacklog(
  jsm: JetStreamManager,
  now = Date.now(),
): Promise<BacklogRow[]> {
  return Promise.all(
    ALL_CONSUMERS.map(async ([stream, consumer]) => {
      const info = await jsm.consumers.info(stream, consumer);
      const pending = info.num_pending + info.num_ack_pending;
      let oldestAgeSeconds = 0;
      if (pending > 0) {
        // The oldest message still owed: the first one past the ack floor that this consumer's filter matches.
        const oldest = await jsm.direct
          .getMessage(stream, {
            seq: info.ack_floor.stream_seq + 1,
            next_by_subj: info.config.filter_subject ?? '>',
          })
          .catch(() => null);
        if (oldest) oldestAgeSeconds = Math.max(0, (now - oldest.time.getTime()) / 1000);
      }
      return {
        kind: 'consumer' as const,
        name: `${stream}/${consumer}`,
        pending,
        oldestAgeSeconds,
        doneCounter: info.ack_floor.consumer_seq,
      };
    }),
  );
}

/** Temporal's own backlog of workflow and activity tasks for the app's task queue. */
export async function taskQueueBacklog(
  client: Client,
  namespace: string,
  taskQueue: string,
): Promise<BacklogRow[]> {
  const types = [
    ['workflow', temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW],
    ['activity', temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
  ] as const;
  return Promise.all(
    types.map(async ([label, taskQueueType]) => {
      const res = await client.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: taskQueue },
        taskQueueType,
        reportStats: true,
      });
      const stats = res.stats;
      const age = stats?.approximateBacklogAge;
      return {
        kind: 'task-queue' as const,
        name: `${taskQueue} (${label})`,
        pending: Number(stats?.approximateBacklogCount ?? 0),
        oldestAgeSeconds: age ? Number(age.seconds ?? 0) + (age.nanos ?? 0) / 1e9 : 0,
      };
    }),
  );
}
