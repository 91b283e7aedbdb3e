import type { Config } from '../src/config';
import { connectTemporalClient } from '../src/temporal/client';
import { workflowIdFor } from '../workflows/definitions';

export interface WorkflowFigures {
  /** Sampled workflows (completed orders). */
  sampled: number;
  stateTransitions: number;
  historyEvents: number;
  workflowTasks: number;
  signals: number;
  localActivityMarkers: number;
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
  const client = await connectTemporalClient(config);
  try {
    const rows: Omit<WorkflowFigures, 'sampled'>[] = [];
    for (const orderId of orderIds) {
      const workflowId = workflowIdFor(orderId);
      const d = await client.workflowService.describeWorkflowExecution({
        namespace: config.temporal.namespace,
        execution: { workflowId },
      });
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      const events = history.events ?? [];
      const count = (pred: (e: (typeof events)[number]) => boolean) => events.filter(pred).length;
      rows.push({
        stateTransitions: Number(d.workflowExecutionInfo?.stateTransitionCount ?? 0),
        historyEvents: events.length,
        workflowTasks: count((e) => Boolean(e.workflowTaskCompletedEventAttributes)),
        signals: count((e) => Boolean(e.workflowExecutionSignaledEventAttributes)),
        localActivityMarkers: count((e) => Boolean(e.markerRecordedEventAttributes)),
      });
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
