import { CompleteAsyncError, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ActivityNotFoundError, WorkflowNotFoundError } from '@temporalio/client';
import type { createActivities } from '../../activities';
import type {
  CommandEnvelope,
  CommandType,
  OrderRequest,
  OrderView,
  ReplyEnvelope,
  ServiceName,
} from '../../src/domain/types';
import { deadLetterSignal, replySignal } from '../../workflows/definitions';

/**
 * The order workflow's activities, played by scripted services for tests that need no NATS, no
 * PostgreSQL and no app: `sendCommand` hands each command to its script, which answers the way the
 * real path does — by completing the waiting activity through the Temporal client, as the reply
 * bridge does, or by a `reply` signal when no activity waits any more — or stays silent, or
 * dead-letters it. `lookupReply` reads what the scripted service has "applied".
 */

/**
 * What a service does with one send of a command. As a real service, it handles a command once:
 * whatever it answered first (done or refused) is what any later copy gets.
 */
export type Behaviour =
  /** Applies it and answers (succeeded), after `delayMs`. */
  | { answer: 'ok'; delayMs?: number }
  /** Refuses it with a business reason. */
  | { answer: 'refuse'; code: string; delayMs?: number }
  /** Applies it, but its answer is lost on the way. */
  | { answer: 'lost' }
  /** Never sees it. */
  | { answer: 'silent' }
  /** JetStream gives up on it: the dead-letter watcher tells the workflow. */
  | { answer: 'dead-letter'; reason: string };

export const ok: Behaviour = { answer: 'ok' };
export const silent: Behaviour = { answer: 'silent' };
export const lost: Behaviour = { answer: 'lost' };
export const refuse = (code: string): Behaviour => ({ answer: 'refuse', code });
export const later = (delayMs: number): Behaviour => ({ answer: 'ok', delayMs });
export const deadLetter = (reason: string): Behaviour => ({ answer: 'dead-letter', reason });

/** Per command type, the behaviour of each send in turn; the last one repeats. Unlisted: `ok`. */
export type Script = Partial<Record<CommandType, Behaviour | Behaviour[]>>;

export interface Send {
  commandId: string;
  type: CommandType;
  msgId: string;
  activityId: string;
}

const RESULTS: Partial<Record<CommandType, ReplyEnvelope['result']>> = {
  'inventory.reserve': { reserved: true },
  'payment.charge': { chargeId: 'ch_1' },
  'loyalty.award': { points: 50 },
  'shipping.create': { shipmentId: 'sh_1', trackingNumber: 'TRK1' },
};

/** What an undo answers it did, as the real services do: it gives back only what its order holds. */
function undoResult(
  type: CommandType,
  holds: (forward: CommandType) => boolean,
): ReplyEnvelope['result'] | undefined {
  switch (type) {
    case 'payment.refund':
      return { refunded: holds('payment.charge') };
    case 'shipping.cancel':
      return { cancelled: holds('shipping.create') };
    case 'inventory.release':
      return { released: holds('inventory.reserve') ? 3 : 0 };
    case 'loyalty.reverse':
      return { points: holds('loyalty.award') ? -25 : 0 };
    default:
      return undefined;
  }
}

function replyTo(
  cmd: CommandEnvelope,
  b: Behaviour,
  replyTo: string,
  holds: (forward: CommandType) => boolean,
): ReplyEnvelope {
  const refused = b.answer === 'refuse';
  const result = RESULTS[cmd.type] ?? undoResult(cmd.type, holds);
  return {
    replyId: `${cmd.commandId}:reply`,
    commandId: cmd.commandId,
    type: cmd.type,
    orderId: cmd.orderId,
    workflowId: cmd.workflowId,
    outcome: refused ? 'rejected' : 'succeeded',
    ...(refused
      ? { error: { code: b.code, message: `${cmd.type} refused: ${b.code}` } }
      : result
        ? { result }
        : {}),
    replyTo,
  };
}

export class ScriptedServices {
  private readonly scripts = new Map<string, Script>();
  private readonly sendsByOrder = new Map<string, Send[]>();
  /** Commands a service handled, with the reply it stored: what `lookupReply` reads. */
  private readonly records = new Map<string, ReplyEnvelope>();
  private readonly failures: unknown[] = [];
  private readonly outcomes = new Map<string, OrderView[]>();
  private readonly pending = new Set<Promise<void>>();
  /** Orders whose run wrote their row itself (recordOrderAccepted): those not recorded before. */
  readonly recordedByRun = new Set<string>();

  constructor(private readonly client: () => Client) {}

  /** The behaviour of this order's services. */
  script(orderId: string, script: Script): void {
    this.scripts.set(orderId, script);
  }

  sends(orderId: string): Send[] {
    return this.sendsByOrder.get(orderId) ?? [];
  }

  /** The command types sent for an order, in order, each send once. */
  sentTypes(orderId: string): CommandType[] {
    return this.sends(orderId).map((s) => s.type);
  }

  /** Every view the workflow wrote to the orders table, in order. */
  recorded(orderId: string): OrderView[] {
    return this.outcomes.get(orderId) ?? [];
  }

  /** Whether the service has handled (and recorded) this command. */
  handled(commandId: string): boolean {
    return this.records.has(commandId);
  }

  /** Waits for the answers still on their way; throws what went wrong delivering any of them. */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
    if (this.failures.length) throw this.failures[0];
  }

  /** The activities a worker runs in place of the real ones. */
  activities(): ReturnType<typeof createActivities> {
    return {
      sendCommand: async ({ command, msgId }) => {
        const { activityId } = Context.current().info;
        const list = this.sendsByOrder.get(command.orderId) ?? [];
        list.push({ commandId: command.commandId, type: command.type, msgId, activityId });
        this.sendsByOrder.set(command.orderId, list);
        const nth = list.filter((s) => s.commandId === command.commandId).length;
        this.track(this.play(command, this.behaviourOf(command, nth), activityId));
        throw new CompleteAsyncError(); // answered by the scripted service, as by the reply bridge
      },
      lookupReply: async ({ commandId }) => this.records.get(commandId) ?? null,
      recordOrderAccepted: async (order) => {
        this.recordedByRun.add(order.orderId);
      },
      recordOrderOutcome: async (view) => {
        const list = this.outcomes.get(view.orderId) ?? [];
        list.push(structuredClone(view));
        this.outcomes.set(view.orderId, list);
      },
    };
  }

  private behaviourOf(cmd: CommandEnvelope, nth: number): Behaviour {
    const b = this.scripts.get(cmd.orderId)?.[cmd.type] ?? ok;
    return Array.isArray(b) ? (b[Math.min(nth, b.length) - 1] ?? ok) : b;
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => {
      this.failures.push(err);
    });
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  private async play(cmd: CommandEnvelope, b: Behaviour, activityId: string): Promise<void> {
    if (b.answer === 'silent') return;
    const handle = this.client().workflow.getHandle(cmd.workflowId);
    if (b.answer === 'dead-letter') {
      await handle.signal(deadLetterSignal, {
        commandId: cmd.commandId,
        reason: b.reason,
        deadLetterId: '1',
      });
      return;
    }
    // A service handles a command once and keeps its answer: a later copy gets the same stored reply.
    const holds = (forward: CommandType) =>
      [...this.records.values()].some(
        (r) => r.orderId === cmd.orderId && r.type === forward && r.outcome === 'succeeded',
      );
    const stored = this.records.get(cmd.commandId) ?? replyTo(cmd, b, activityId, holds);
    this.records.set(cmd.commandId, stored);
    if (b.answer === 'lost') return;
    if (b.answer !== 'refuse' && b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
    await this.deliver({ ...stored, replyTo: activityId });
  }

  /**
   * What the reply bridge does: say which service answered (the one the command's type names), then
   * complete the waiting activity, or signal when none waits any more.
   */
  async deliver(wire: ReplyEnvelope): Promise<void> {
    const client = this.client();
    const reply: ReplyEnvelope = { ...wire, from: wire.type.split('.')[0] as ServiceName };
    try {
      await client.activity.complete(
        { workflowId: reply.workflowId, activityId: reply.replyTo! },
        reply,
      );
    } catch (err) {
      if (!(err instanceof ActivityNotFoundError)) throw err;
      try {
        await client.workflow.getHandle(reply.workflowId).signal(replySignal, reply);
      } catch (e) {
        // The run has ended: nobody waits for this reply any more (the bridge drops it too).
        if (!(e instanceof WorkflowNotFoundError)) throw e;
      }
    }
  }
}

/** An order of two items for 2 × 10.50 EUR + 1 × 4.00 EUR = 25.00 EUR. */
export function testOrder(orderId: string): OrderRequest {
  return {
    orderId,
    customerId: 'cust-1',
    items: [
      { sku: 'sku-a', quantity: 2, unitPriceCents: 1_050 },
      { sku: 'sku-b', quantity: 1, unitPriceCents: 400 },
    ],
    currency: 'EUR',
    shippingAddress: { line1: '1 Quay', city: 'Leith', country: 'GB' },
  };
}
