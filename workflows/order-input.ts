import { ApplicationFailure, patched } from '@temporalio/workflow';
import { signerOf } from '../src/domain/provenance';
import type { Signer } from '../src/domain/provenance';
import { SERVICES, TERMINAL_STATUSES } from '../src/domain/types';
import { isWaitPoint, WAIT_POINTS } from '../src/domain/wait-points';
import type { WaitForRequest } from './definitions';
import type {
  OrderRequest,
  OrderStatus,
  ReplyEnvelope,
  ServiceName,
  StepName,
  StepView,
  UndecodablePayload,
  UnencryptedPayload,
} from '../src/domain/types';

/**
 * What an order workflow is started with, and what it makes of the inputs its signals and updates
 * bring. Anyone with write access to the namespace can send those — the reply bridge, the API, and an
 * operator with Temporal's CLI or UI, with or without the codec server — so each is checked here
 * before it touches the order, and a bad one is ignored or refused: it must never fail a workflow
 * task, which would stop the order where it stands.
 */

export interface OrderWorkflowSettings {
  /** How long a step waits for its reply before the command is sent again. */
  stepTimeoutMs: number;
  /** How many times one command is sent before the step gives up. */
  stepMaxSends: number;
  /** JetStream's duplicate window: a re-send after it needs a fresh Nats-Msg-Id to be stored at all. */
  duplicateWindowMs: number;
  /** Rounds of sends a compensation gets before the order asks for attention. */
  compensationRounds: number;
  /** Pause between background retries of the loyalty points of a completed order. */
  loyaltyRetryMs: number;
}

export interface OrderWorkflowInput {
  order: OrderRequest;
  settings: OrderWorkflowSettings;
  /** True when the starter already wrote the order's row (the API does): the workflow skips that write. */
  recorded?: boolean;
}

/** What the cleanup of an order whose run closed unfinished (or that still holds effects) starts with. */
export interface OrderCleanupInput {
  order: OrderRequest;
  settings: OrderWorkflowSettings;
  /**
   * The status the order ends with once undone: how its run closed (TERMINATED, TIMED_OUT, FAILED),
   * or the ended status the orders table already holds.
   */
  endAs: OrderStatus;
  /** Why, in words: how the run closed, as Temporal recorded it (with the operator's reason). */
  reason: string;
  /** Each step as the closed run last showed it, when it could be read. */
  steps?: Record<StepName, StepView>;
  /** Steps whose compensation an operator gave up: left as they are. */
  leave?: StepName[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A payload that reached Temporal unencrypted, as the payload codec hands it over (see payload-codec.ts). */
export const isUnencrypted = (v: unknown): v is UnencryptedPayload =>
  isObject(v) && 'unencrypted' in v && typeof v.encoding === 'string';

/** A payload the worker could not decrypt, as its codec hands it over (see payload-codec.ts). */
export const isUndecodable = (v: unknown): v is UndecodablePayload =>
  isObject(v) && typeof v.undecodable === 'string' && typeof v.encoding === 'string';

/** Why an input is not one Shipshape sent, in words, or undefined when it may be: for logs and the order's view. */
export function foreignInputProblem(input: unknown): string | undefined {
  if (isUndecodable(input)) return `it could not be decrypted (${input.undecodable})`;
  if (isUnencrypted(input)) return `it reached Temporal unencrypted (${input.encoding})`;
  return undefined;
}

/**
 * Whether a run holds the inputs it acts on without question to who signed them
 * (src/domain/provenance.ts). Runs that began before signatures, replayed from their histories, did not
 * and keep not doing so; every run since does.
 */
export interface Trust {
  signed: boolean;
}

/**
 * Why an input that only `signers` may send is not taken, in words; undefined when it may be. For the
 * order's view and log: an operator can see that what they sent was refused, and why.
 */
export function untrusted(
  input: unknown,
  trust: Trust,
  signers: readonly Signer[],
): string | undefined {
  const foreign = foreignInputProblem(input);
  if (foreign || !trust.signed) return foreign;
  const by = signerOf(input);
  if (by && signers.includes(by)) return undefined;
  return `it is not signed by the ${signers.join(' or the ')}${by ? ` (signed by the ${by})` : ": Temporal's own tools and the codec server cannot sign"}`;
}

/** The trust of an order run: signed, unless it began before signatures did. Call once, at its start. */
export const orderRunTrust = (): Trust => ({ signed: patched('signed-inputs') });

const SETTINGS: readonly (keyof OrderWorkflowSettings)[] = [
  'stepTimeoutMs',
  'stepMaxSends',
  'duplicateWindowMs',
  'compensationRounds',
  'loyaltyRetryMs',
];

/** What is wrong with a start input, or undefined. The starters validate orders fully; this guards the shape. */
function inputProblem(input: unknown): string | undefined {
  if (isUndecodable(input)) return `it could not be decrypted: ${input.undecodable}`;
  if (isUnencrypted(input))
    return 'it reached Temporal unencrypted: start orders through the API or the client library, which encrypt it';
  if (!isObject(input)) return 'it must be an object { order, settings }';
  const { order, settings } = input;
  if (!isObject(order)) return '"order" must be an object';
  for (const field of ['orderId', 'customerId', 'currency'] as const)
    if (typeof order[field] !== 'string') return `"order.${field}" must be a string`;
  const items = order.items;
  if (!Array.isArray(items) || items.length === 0) return '"order.items" must be a non-empty list';
  for (const [i, item] of items.entries()) {
    if (
      !isObject(item) ||
      typeof item.sku !== 'string' ||
      !Number.isInteger(item.quantity) ||
      !Number.isInteger(item.unitPriceCents)
    )
      return `"order.items.${i}" must be { sku, quantity, unitPriceCents }`;
  }
  if (!isObject(settings)) return '"settings" must be an object';
  for (const s of SETTINGS) {
    const value = settings[s];
    if (typeof value !== 'number' || !(value > 0))
      return `"settings.${s}" must be a positive number`;
  }
  return undefined;
}

const invalidInput = (workflow: string, problem: string) =>
  ApplicationFailure.create({
    type: 'InvalidWorkflowInput',
    message: `the ${workflow} workflow's input is not valid: ${problem}`,
    nonRetryable: true,
  });

/**
 * The start input, checked: a bad one fails the run at once, with the reason, instead of its tasks. An
 * order counts as recorded (its row written, so the run need not write it) only when the API or the
 * reconciler started it: anyone else's start is recorded by the run itself.
 */
export function checkedInput(input: unknown, trust: Trust): OrderWorkflowInput {
  const problem = inputProblem(input);
  if (problem) throw invalidInput('order', problem);
  const checked = input as OrderWorkflowInput;
  const recorded = checked.recorded === true && !untrusted(input, trust, ['api', 'reconciler']);
  return { order: checked.order, settings: checked.settings, recorded };
}

/** The cleanup's start input, checked the same way; only the reconciler starts a cleanup. */
export function checkedCleanupInput(input: unknown): OrderCleanupInput {
  const problem =
    inputProblem(input) ??
    untrusted(input, { signed: true }, ['reconciler']) ??
    (isObject(input) && TERMINAL_STATUSES.includes(input.endAs as OrderStatus)
      ? typeof input.reason === 'string'
        ? undefined
        : '"reason" must be a string'
      : `"endAs" must be one of ${TERMINAL_STATUSES.join(', ')}`);
  if (problem) throw invalidInput('cleanup', problem);
  return input as OrderCleanupInput;
}

const reasonOf = (v: unknown): string | undefined =>
  isObject(v) && typeof v.reason === 'string' ? v.reason.slice(0, 500) : undefined;

/**
 * A reconcile's reason. A reconcile only makes the order re-check its step, so any input will do,
 * an unencrypted one too (the Temporal CLI without the codec server sends its input in clear).
 */
export const reconcileReason = (input: unknown): string | undefined =>
  isUndecodable(input) ? undefined : reasonOf(isUnencrypted(input) ? input.unencrypted : input);

/**
 * An operator's resolve action, as the API sends it for this workflow; why it is refused otherwise
 * (unencrypted, unsigned, meant for another workflow, no action).
 */
export function resolveAction(
  input: unknown,
  trust: Trust,
  workflowId: string,
): { action: 'retry' | 'give-up' } | { refused: string } {
  const problem = untrusted(input, trust, ['api']);
  if (problem) return { refused: problem };
  if (!isObject(input)) return { refused: 'it is not { action }' };
  if (trust.signed && input.workflowId !== workflowId)
    return { refused: 'it was signed for another workflow' };
  return input.action === 'retry' || input.action === 'give-up'
    ? { action: input.action }
    : { refused: 'it has no action "retry" or "give-up"' };
}

/**
 * Why a cancel is refused before it reaches the order, or undefined. A cancel undoes what the order
 * did, so only an encrypted one counts: one sent through the API, the CLI, the client library or the
 * codec server.
 */
export function cancelInputProblem(input: unknown): string | undefined {
  if (isUndecodable(input))
    return `the cancel could not be decrypted (${input.undecodable}): cancel through the API, the shipshape CLI or the codec server`;
  if (isUnencrypted(input))
    return 'the cancel reached Temporal unencrypted: cancel through the API, the shipshape CLI or the codec server';
  if (input !== undefined && !isObject(input)) return 'the cancel input must be { reason? }';
  return undefined;
}

export const cancelReason = (input: unknown): string | undefined => reasonOf(input);

/**
 * What a `waitFor` asks for; why it is refused otherwise. A wait only reads, so an unencrypted one (the
 * Temporal CLI without the codec server) counts too.
 */
export function waitForRequest(input: unknown): WaitForRequest | { refused: string } {
  if (isUndecodable(input))
    return { refused: `the wait could not be decrypted (${input.undecodable})` };
  const request = isUnencrypted(input) ? input.unencrypted : input;
  if (!isObject(request) || !isWaitPoint(request.until))
    return { refused: `"until" must be one of ${WAIT_POINTS.join(', ')}` };
  const { until, withinMs } = request;
  if (withinMs === undefined) return { until };
  return typeof withinMs === 'number' && withinMs > 0
    ? { until, withinMs }
    : { refused: '"withinMs" must be a positive number of milliseconds' };
}

/**
 * A service's reply, as the reply bridge sends it, with the service whose subject it came on
 * (`from`); why it is not one otherwise (unencrypted, unsigned, hand-made). A step that gets no reply
 * goes on waiting, and re-sends on its timeout as usual.
 */
export function asReply(
  input: unknown,
  trust: Trust,
): { reply: ReplyEnvelope; from: ServiceName | undefined } | { refused: string } {
  const problem = untrusted(input, trust, ['reply-bridge']);
  if (problem) return { refused: problem };
  if (!isObject(input)) return { refused: 'it is not a service reply' };
  const { replyId, commandId, outcome, from } = input;
  if (typeof replyId !== 'string' || typeof commandId !== 'string')
    return { refused: 'it is not a service reply' };
  if (outcome !== 'succeeded' && outcome !== 'rejected')
    return { refused: 'it is not a service reply' };
  const service = SERVICES.find((s) => s === from);
  if (trust.signed && !service) return { refused: 'it does not say which service sent it' };
  return { reply: input as unknown as ReplyEnvelope, from: service };
}

/** A dead letter's notice, as the dead-letter watcher sends it; why it is not one otherwise. */
export function asDeadLetter(
  input: unknown,
  trust: Trust,
): { commandId: string; reason: string } | { refused: string } {
  const problem = untrusted(input, trust, ['reply-bridge']);
  if (problem) return { refused: problem };
  if (!isObject(input) || typeof input.commandId !== 'string')
    return { refused: 'it is not a dead-letter notice' };
  const { commandId, reason } = input;
  return { commandId, reason: typeof reason === 'string' ? reason : 'dead-lettered' };
}
