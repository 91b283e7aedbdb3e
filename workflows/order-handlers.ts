import { CancellationScope, condition, log, setHandler } from '@temporalio/workflow';
import { hasReached } from '../src/domain/wait-points';
import type { CommandDelivery } from './command-delivery';
import {
  cancelUpdate,
  deadLetterSignal,
  orderStateQuery,
  reconcileSignal,
  replySignal,
  resolveSignal,
  waitForUpdate,
} from './definitions';
import { cancelInputProblem, cancelReason, waitForRequest } from './order-input';
import type { OrderProgress } from './order-progress';
import type { OrderSaga } from './saga';

/**
 * Everything an order's run answers besides its own steps, in one list (definitions.ts describes each
 * signal, update and query). Set up before the run's first await, so a signal that came with the start
 * or before the first task is taken as soon as the run begins.
 */
export function answerOrderRequests(parts: {
  progress: OrderProgress;
  commands: CommandDelivery;
  saga: OrderSaga;
  /** How the order takes a cancel; a cleanup run, which only undoes, takes none. */
  cancel?: (reason: string) => { accepted: boolean; reason?: string };
}): void {
  const { progress, commands, saga, cancel } = parts;
  setHandler(orderStateQuery, () => progress.shown());
  setHandler(replySignal, (reply) => commands.takeReply('a reply signal', reply));
  setHandler(deadLetterSignal, (notice) => commands.takeDeadLetter(notice));
  setHandler(reconcileSignal, (request) => saga.reconcile(request));
  setHandler(resolveSignal, (request) => saga.resolve(request));
  if (!cancel) return;
  setHandler(cancelUpdate, (request) => cancel(cancelReason(request) ?? 'cancelled on request'), {
    validator: (request) => {
      const problem = cancelInputProblem(request);
      if (problem) throw new Error(problem); // refused before it is in the history: the caller is told
    },
  });
  // A caller waiting on the order: answered when it gets there, ends or the caller's time is up, so
  // never left waiting on a closed run (the run ends only once every handler has finished).
  setHandler(
    waitForUpdate,
    async (request) => {
      const wait = waitForRequest(request);
      if ('until' in wait) {
        const there = () => hasReached(wait.until, progress.view);
        // Not cut short by Temporal's cancel: the order compensates, and the caller hears how it ended.
        await CancellationScope.nonCancellable(async () => {
          if (wait.withinMs) await condition(there, wait.withinMs);
          else await condition(there);
        });
      }
      return progress.shown();
    },
    {
      validator: (request) => {
        const wait = waitForRequest(request);
        if ('refused' in wait) throw new Error(wait.refused);
      },
    },
  );
  // Temporal's own cancel (the UI's button, `temporal workflow cancel`) is a cancel like the others:
  // the order compensates, rather than having its sends cut off half-way.
  void CancellationScope.current().cancelRequested.catch(() => {
    const answer = cancel('cancelled in Temporal');
    if (!answer.accepted) log.warn('Temporal cancel request ignored', { reason: answer.reason });
  });
}
