/**
 * Plain data types shared by the workflow, activities, services and API.
 * Types and constant lists only, no I/O: workflow code may import this file.
 */
import type { Sealed } from './sealed';

export const SERVICES = ['inventory', 'payment', 'loyalty', 'shipping'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Every command a service understands, as `<service>.<action>`; also its NATS subject suffix. */
export type CommandType =
  | 'inventory.reserve'
  | 'inventory.commit'
  | 'inventory.release'
  | 'payment.charge'
  | 'payment.refund'
  | 'loyalty.award'
  | 'loyalty.reverse'
  | 'shipping.create'
  | 'shipping.cancel';

export interface OrderItem {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

export type ShippingAddress =
  | string
  | {
      name?: string;
      line1: string;
      line2?: string;
      city: string;
      postalCode?: string;
      country: string;
    };

/**
 * An order. Its personal fields arrive in clear at the API (or the client library) and are sealed
 * there (Sealed): everything after holds them sealed, and only the shipping service opens the address.
 */
export interface OrderRequest {
  orderId: string;
  customerId: string;
  items: OrderItem[];
  currency: string;
  shippingAddress: ShippingAddress | Sealed;
  paymentMethod?: string | Sealed;
}

export interface ReserveCommand {
  items: { sku: string; quantity: number }[];
}
export interface CommitCommand {
  reserveCommandId: string;
}
/** Releases what the order holds; the service looks it up by order. */
export interface ReleaseCommand {
  /** The reserve it undoes, when the sender knows it (the cleanup of a closed run may not). */
  reserveCommandId?: string;
}
export interface ChargeCommand {
  customerId: string;
  amountCents: number;
  currency: string;
}
/** Refunds whatever the order's charge took; the service looks the charge up, so this works even when the workflow never heard the charge's reply. */
export interface RefundCommand {
  /** The charge it undoes, when the sender knows it (the cleanup of a closed run may not). */
  chargeCommandId?: string;
  amountCents: number;
}
export interface AwardCommand {
  customerId: string;
  orderTotalCents: number;
}
/** Takes back what the order was credited; the service looks it up by order. */
export interface ReverseCommand {
  /** The award it undoes, when the sender knows it. */
  awardCommandId?: string;
  customerId: string;
}
export interface CreateShipmentCommand {
  /** Sealed, as the order holds it; the shipping service opens it for the carrier. */
  address: ShippingAddress | Sealed;
  items: { sku: string; quantity: number }[];
}
/** Cancels the order's shipment, if one was created; the service looks it up by order. */
export interface CancelShipmentCommand {
  /** The create it undoes, when the sender knows it. */
  createCommandId?: string;
}

export interface CommandPayloads {
  'inventory.reserve': ReserveCommand;
  'inventory.commit': CommitCommand;
  'inventory.release': ReleaseCommand;
  'payment.charge': ChargeCommand;
  'payment.refund': RefundCommand;
  'loyalty.award': AwardCommand;
  'loyalty.reverse': ReverseCommand;
  'shipping.create': CreateShipmentCommand;
  'shipping.cancel': CancelShipmentCommand;
}

/** A command as it travels over JetStream. `commandId` is `<workflowId>:<type>:<seq>`. */
export interface CommandEnvelope<T extends CommandType = CommandType> {
  commandId: string;
  type: T;
  orderId: string;
  workflowId: string;
  /** Position of this command among its order's commands, starting at 1. */
  seq: number;
  payload: CommandPayloads[T];
  /**
   * The Temporal activity that waits for this command's answer (its activity id): the service copies
   * it into its reply, and the reply bridge completes that activity with the reply.
   */
  replyTo?: string;
  /**
   * The Temporal run that sent this copy of the command and when (ms since the epoch, Temporal's own
   * clock), stamped by the `sendCommand` activity. A service lets the run that sent last act on the
   * order: a command from a run that a reset or a cleanup replaced is refused.
   */
  sentBy?: { runId: string; at: number };
}

export type ReplyOutcome = 'succeeded' | 'rejected';

/** A service's answer to one command, published from its outbox. */
export interface ReplyEnvelope {
  replyId: string;
  commandId: string;
  type: CommandType;
  orderId: string;
  workflowId: string;
  outcome: ReplyOutcome;
  /** What the effect produced (chargeId, shipmentId, points, …). */
  result?: Record<string, string | number | boolean | null>;
  /** Why a command was rejected: a business reason code and a human message. */
  error?: { code: string; message: string };
  /** The command's `replyTo`, when it had one. */
  replyTo?: string;
  /**
   * The service whose reply subject it arrived on, as the reply bridge saw it (and signed): never read
   * from the message, whose sender could write anything there.
   */
  from?: ServiceName;
}

export type StepName = 'inventory' | 'payment' | 'loyalty' | 'shipping';

/** Every state a step can be in (the API's contract lists them too). */
export const STEP_STATES = [
  'PENDING',
  'IN_PROGRESS',
  'SUCCEEDED',
  'FAILED',
  'COMPENSATING',
  'COMPENSATED',
  /** Compensation given up by an operator: needs handling outside Shipshape. */
  'COMPENSATION_ABANDONED',
  /** Loyalty only: the order completed and the points are being retried in the background. */
  'RETRYING',
  'SKIPPED',
] as const;
export type StepState = (typeof STEP_STATES)[number];

/** Every status an order can have, in the order an order moves through them. */
export const ORDER_STATUSES = [
  'PENDING',
  'RESERVING_INVENTORY',
  'CHARGING_PAYMENT',
  'AWARDING_POINTS',
  'CREATING_SHIPMENT',
  'FINALIZING',
  'COMPENSATING',
  /** A compensation keeps failing: the workflow waits for an operator's retry or give-up. */
  'NEEDS_ATTENTION',
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  /** Its run was terminated in Temporal before the saga finished; what it did has been undone. */
  'TERMINATED',
  /** Its run hit a Temporal run or execution timeout before the saga finished; undone likewise. */
  'TIMED_OUT',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const TERMINAL_STATUSES: readonly OrderStatus[] = [
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TERMINATED',
  'TIMED_OUT',
];

export interface StepView {
  state: StepState;
  commandId?: string;
  /** How many times the step's current command has been published (re-sends after timeouts included). */
  sends?: number;
  detail?: string;
  result?: Record<string, string | number | boolean | null>;
  /** What the step's compensation did, as its service answered (refunded, cancelled, released…). */
  undone?: Record<string, string | number | boolean | null>;
}

/** What the workflow's `orderState` query returns and what the `orders` table stores at the end. */
export interface OrderView {
  orderId: string;
  workflowId: string;
  customerId: string;
  status: OrderStatus;
  totalCents: number;
  currency: string;
  steps: Record<StepName, StepView>;
  failureReason?: string;
  /** Why the order waits for an operator (status NEEDS_ATTENTION). */
  attention?: string;
  /** What the latest reconciles found (query only). */
  reconciled?: string[];
  /** Inputs sent to the order that it refused (a reply, resolve or cancel it could not trust), newest last (query only). */
  rejectedInputs?: string[];
}

/**
 * What workflow code receives in place of a payload that reached Temporal unencrypted (sent without
 * the codec server, e.g. `temporal workflow signal --input '{}'`): its content, marked, so that the
 * workflow decides what such an input may do instead of failing to read it.
 */
export interface UnencryptedPayload {
  /** The payload's content: its JSON value, or null when it is not JSON. */
  unencrypted: unknown;
  /** The payload's own `encoding` metadata, e.g. `json/plain`. */
  encoding: string;
}

/**
 * What workflow code receives in place of a payload the worker could not decrypt (an unknown key id,
 * an altered or truncated payload): why, and its `encoding`. Only the Temporal worker's codec hands
 * these over; the workflow refuses such an input instead of failing its tasks over it.
 */
export interface UndecodablePayload {
  undecodable: string;
  encoding: string;
}
