import type { Client } from '@temporalio/client';
import type { Config } from '../../src/platform/config';
import { connectTemporalClient } from '../../src/platform/temporal/client';
import { workflowIdFor } from '../../workflows/definitions';

export interface WorkflowFigures {
  /** Sampled workflows (completed orders). */
  sampled: number;
  stateTransitions: number;
  historyEvents: number;
  workflowTasks: number;
  signals: number;
  localActivityMarkers: number;
}

/** One workflow's figures, read from the server: its state transitions and its history. */
export async function historyFigures(
  client: Client,
  namespace: string,
  workflowId: string,
): Promise<Omit<WorkflowFigures, 'sampled'>> {
  const d = await client.workflowService.describeWorkflowExecution({
    namespace,
    execution: { workflowId },
  });
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const count = (pred: (e: (typeof events)[number]) => boolean) => events.filter(pred).length;
  return {
    stateTransitions: Number(d.workflowExecutionInfo?.stateTransitionCount ?? 0),
    historyEvents: events.length,
    workflowTasks: count((e) => Boolean(e.workflowTaskCompletedEventAttributes)),
    signals: count((e) => Boolean(e.workflowExecutionSignaledEventAttributes)),
    localActivityMarkers: count((e) => Boolean(e.markerRecordedEventAttributes)),
  };
}

/**
 * Where Temporal's time goes, per order: state transitions (DescribeWorkflowExecution's
 * stateTransitionCount: each one a durable write), history events, workflow tasks, signals and
 * local-activity markers, medians over a few completed orders.
 */
export async function workflowFigures(
  config: Config,
  orderIds: string[],
): Promise<WorkflowFigures | undefined> {
  if (!orderIds.length) return undefined;
  const client = await connectTemporalClient(config, 'cli');
  try {
    const rows: Omit<WorkflowFigures, 'sampled'>[] = [];
    for (const orderId of orderIds) {
      rows.push(await historyFigures(client, config.temporal.namespace, workflowIdFor(orderId)));
    }
    const median = (k: keyof Omit<WorkflowFigures, 'sampled'>) => {
      const s = rows.map((r) => r[k]).sort((a, b) => a - b);
      return s[Math.floor(s.length / 2)]!;
    };
    return {
      sampled: rows.length,
      stateTransitions: median('stateTransitions'),
      historyEvents: median('historyEvents'),
      workflowTasks: median('workflowTasks'),
      signals: median('signals'),
      localActivityMarkers: median('localActivityMarkers'),
    };
  } finally {
    await client.connection.close();
  }
}
