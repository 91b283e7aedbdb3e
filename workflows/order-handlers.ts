import { CancellationScope, log, setHandler } from '@temporalio/workflow';
import type { CommandDelivery } from './command-delivery';
import {
  cancelUpdate,
  deadLetterSignal,
  orderStateQuery,
  reconcileSignal,
  replySignal,
  resolveSignal,
} from './definitions';
import { cancelInputProblem, cancelReason } from './order-input';
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
  // Temporal's own cancel (the UI's button, `temporal workflow cancel`) is a cancel like the others:
  // the order compensates, rather than having its sends cut off half-way.
  void CancellationScope.current().cancelRequested.catch(() => {
    const answer = cancel('cancelled in Temporal');
    if (!answer.accepted) log.warn('Temporal cancel request ignored', { reason: answer.reason });
  });
}
