import { log, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { isTerminal, orderTotalCents } from '../src/domain/orders';
import type {
  OrderRequest,
  OrderStatus,
  OrderView,
  StepName,
  StepState,
  StepView,
} from '../src/domain/types';
import { OrderProgressAtKey, OrderStatusKey } from './definitions';

/**
 * How the saga and the command delivery report on an order: the one way they change what people see
 * of it. Nothing else writes the view.
 */
export interface ProgressReport {
  /** The order as it stands: what the query answers and the orders table records. */
  readonly view: Readonly<OrderView>;
  readonly status: OrderStatus;
  step(step: StepName): StepView;
  setStatus(status: OrderStatus): void;
  setStep(step: StepName, state: StepState, extra?: Partial<StepView>): void;
  /** Why the order fails: the first reason given counts. */
  failedBecause(reason: string): void;
  /** Why the order was stopped (a cancel's reason, a closed run's): it replaces any other. */
  stoppedBecause(reason: string): void;
  /** The order waits for an operator (NEEDS_ATTENTION), and why. */
  needsAttention(why: string): void;
  /** The operator answered, or the wait settled by itself: the order shows `status` again. */
  attended(status: OrderStatus): void;
  /** A command of `step` went out; `again` when it is a re-send (no answer in time, or a later round). */
  commandSent(again: boolean, step?: StepName): void;
  /** Steps the order never reached, once it ends. */
  skipUnreachedSteps(): void;
  /** An input the order refused: logged, and shown by the query; the order goes on as it was. */
  noteRejectedInput(what: string, why: string): void;
  /** What a reconcile found: shown by the query. */
  noteReconcile(finding: string): void;
}

/**
 * The order as people see it: its status, each step's state, why it failed or waits — answered by the
 * `orderState` query and written to the orders table when it ends — and the search attributes that
 * let them find it in the Temporal UI.
 */
export class OrderProgress implements ProgressReport {
  readonly view: OrderView;
  private readonly marks: SearchAttributeMarks;
  /** What the latest reconciles found, newest last: shown by the query, not stored. */
  private readonly reconciled: string[] = [];
  /** Inputs the order refused, newest last: shown by the query, not stored (the history has each). */
  private readonly rejected: string[] = [];

  /** `steps`: where each step stood before this run (the cleanup of a closed run starts from there). */
  constructor(order: OrderRequest, stepTimeoutMs: number, steps?: Record<StepName, StepView>) {
    this.view = {
      orderId: order.orderId,
      workflowId: workflowInfo().workflowId,
      customerId: order.customerId,
      status: 'PENDING',
      totalCents: orderTotalCents(order),
      currency: order.currency,
      steps: steps ?? {
        inventory: { state: 'PENDING' },
        payment: { state: 'PENDING' },
        loyalty: { state: 'PENDING' },
        shipping: { state: 'PENDING' },
      },
    };
    this.marks = new SearchAttributeMarks(stepTimeoutMs);
  }

  /** What the `orderState` query answers: the view, and what the latest reconciles and refusals were. */
  shown(): OrderView {
    return {
      ...this.view,
      ...(this.reconciled.length ? { reconciled: this.reconciled.slice(-10) } : {}),
      ...(this.rejected.length ? { rejectedInputs: this.rejected.slice(-10) } : {}),
    };
  }

  get status(): OrderStatus {
    return this.view.status;
  }

  get ended(): boolean {
    return isTerminal(this.view.status);
  }

  step(step: StepName): StepView {
    return this.view.steps[step];
  }

  setStatus(status: OrderStatus): void {
    this.view.status = status;
    this.marks.statusChanged(status);
  }

  setStep(step: StepName, state: StepState, extra: Partial<StepView> = {}): void {
    this.view.steps[step] = { ...this.view.steps[step], state, ...extra };
  }

  failedBecause(reason: string): void {
    this.view.failureReason ??= reason;
  }

  stoppedBecause(reason: string): void {
    this.view.failureReason = reason;
  }

  needsAttention(why: string): void {
    this.view.attention = why;
    this.setStatus('NEEDS_ATTENTION');
  }

  attended(status: OrderStatus): void {
    delete this.view.attention;
    this.setStatus(status);
  }

  commandSent(again: boolean, step?: StepName): void {
    this.marks.commandSent(again, this.view.status);
    if (step)
      this.setStep(step, this.step(step).state, { sends: (this.step(step).sends ?? 0) + 1 });
  }

  skipUnreachedSteps(): void {
    for (const s of ['inventory', 'payment', 'loyalty', 'shipping'] as const)
      if (this.step(s).state === 'PENDING') this.setStep(s, 'SKIPPED');
  }

  noteRejectedInput(what: string, why: string): void {
    log.warn(`ignored ${what}: ${why}`);
    this.rejected.push(`${what}: ${why}`);
    if (this.rejected.length > 50) this.rejected.splice(0, this.rejected.length - 10);
  }

  noteReconcile(finding: string): void {
    this.reconciled.push(finding);
    if (this.reconciled.length > 50) this.reconciled.splice(0, this.reconciled.length - 10);
  }
}

/**
 * When the search attributes are written: once an order is worth finding, not at every step. Each
 * write is a history event and a visibility write, the largest share of the server's work per order
 * after the steps themselves. An order that moves along keeps the PENDING it started with; from the
 * moment it has to send a command again, has run longer than a step timeout, compensates or waits for
 * an operator, every status change is written with the time of its progress. So `OrderProgressAt` is
 * never older than two step timeouts for an order that moves, which the reconciler's threshold
 * (larger) relies on to tell a stuck order.
 */
class SearchAttributeMarks {
  private slow = false;
  private markedAt = Date.now();

  constructor(private readonly stepTimeoutMs: number) {}

  statusChanged(status: OrderStatus): void {
    if (
      this.becomesSlow(
        isTerminal(status) || status === 'COMPENSATING' || status === 'NEEDS_ATTENTION',
      )
    )
      this.mark(status);
  }

  commandSent(again: boolean, status: OrderStatus): void {
    // The status change just before a first send has marked it already.
    if (this.becomesSlow(again) && (again || Date.now() - this.markedAt >= 1000)) this.mark(status);
  }

  /** An order is slow from its first reason to be found, or once it has run a step timeout. */
  private becomesSlow(reason: boolean): boolean {
    return (this.slow ||= reason || Date.now() - this.markedAt >= this.stepTimeoutMs);
  }

  private mark(status: OrderStatus): void {
    this.markedAt = Date.now();
    upsertSearchAttributes([
      { key: OrderStatusKey, value: status },
      { key: OrderProgressAtKey, value: new Date() },
    ]);
  }
}
