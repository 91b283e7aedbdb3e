import type { PoolClient } from 'pg';
import type { ChargeCommand, CommandEnvelope, RefundCommand } from '../domain/types';
import type { ChargeOutcome } from '../providers/payment-client';
import type { PaymentProviderClient } from '../providers/payment-client';
import { rejected, succeeded } from './handler';
import type { CommandHandler, ServiceDefinition } from './handler';

/** One key per operation per order: the command id is deterministic, so every retry reuses it. */
export const providerKey = (commandId: string): string => commandId;

export function paymentService(provider: PaymentProviderClient): ServiceDefinition {
  const charge: CommandHandler<ChargeOutcome> = {
    prepare: (cmd) => {
      const p = cmd.payload as ChargeCommand;
      return provider.charge(
        {
          orderId: cmd.orderId,
          amountCents: p.amountCents,
          currency: p.currency,
          customerId: p.customerId,
        },
        providerKey(cmd.commandId),
      );
    },
    apply: async (tx: PoolClient, cmd: CommandEnvelope, outcome: ChargeOutcome) => {
      const p = cmd.payload as ChargeCommand;
      await tx.query(
        `INSERT INTO payment.charges (order_id, command_id, charge_id, amount_cents, currency, customer_id, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          cmd.orderId,
          cmd.commandId,
          outcome.kind === 'charged' ? outcome.chargeId : null,
          p.amountCents,
          p.currency,
          p.customerId,
          outcome.kind === 'charged' ? 'charged' : 'declined',
        ],
      );
      return outcome.kind === 'charged'
        ? succeeded({ chargeId: outcome.chargeId, amountCents: p.amountCents })
        : rejected(outcome.reason, 'the payment provider declined the charge');
    },
  };

  const refund: CommandHandler<{ refundId: string }> = {
    prepare: (cmd) => {
      const p = cmd.payload as RefundCommand;
      return provider.refund(
        { chargeId: p.chargeId, amountCents: p.amountCents },
        providerKey(cmd.commandId),
      );
    },
    apply: async (tx, cmd, out) => {
      await tx.query(
        `UPDATE payment.charges SET status = 'refunded', refund_id = $2, updated_at = now() WHERE order_id = $1`,
        [cmd.orderId, out.refundId],
      );
      return succeeded({ refundId: out.refundId });
    },
  };

  return { name: 'payment', handlers: { 'payment.charge': charge, 'payment.refund': refund } };
}
