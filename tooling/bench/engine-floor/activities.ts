import { CompleteAsyncError, Context } from '@temporalio/activity';
import type { ReplyRequest } from './replier-link';

/**
 * Activities that answer at once: the floor measures what Temporal costs, not what they do. `ask`
 * hands a request to the replier (the stand-in for a command published to a service).
 */
export function floorActivities(ask: (r: ReplyRequest) => void) {
  return {
    async step(n: number): Promise<number> {
      return n;
    },
    async outcome(): Promise<void> {
      // nothing
    },
    /**
     * Shipshape's delivery shape: "publishes" the step with this activity's task token and leaves the
     * activity open; the replier completes it by that token, as the reply bridge completes a send.
     */
    async sendStep(n: number): Promise<number> {
      const { taskToken } = Context.current().info;
      ask({ kind: 'complete', taskToken: Buffer.from(taskToken).toString('base64'), step: n });
      throw new CompleteAsyncError();
    },
    /**
     * A local activity's publish: asks for the step's reply as a Workflow Update or a signal to this
     * workflow, and returns at once.
     */
    async publish(kind: 'update' | 'signal', n: number): Promise<void> {
      const workflowId = Context.current().info.workflowExecution?.workflowId;
      if (!workflowId) throw new Error('publish runs only from a workflow');
      ask({ kind, workflowId, step: n });
    },
  };
}

export type FloorActivities = ReturnType<typeof floorActivities>;
