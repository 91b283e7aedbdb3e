import type { PoolClient } from 'pg';
import type { CommandEnvelope } from '../../domain/types';
import type { ChargeOutcome, PaymentProviderClient } from './payment-client';
import { providerKey, rejected, succeeded } from '../core/handler';
import type { ServiceOf } from '../core/handler';
import { effectToUndo } from '../core/provider-calls';

type ChargePayload = CommandEnvelope<'payment.charge'>['payload'];

export function paymentService(provider: PaymentProviderClient): ServiceOf<'payment'> {
  /** Asks the provider for the charge under the charge command's key: made once, answered every time. */
  const charge = (orderId: string, chargeCommandId: string, p: ChargePayload) =>
    provider.charge(
      { orderId, amountCents: p.amountCents, currency: p.currency, customerId: p.customerId },
      providerKey(chargeCommandId),
    );

  return {
    name: 'payment',
    providerCalls: ['payment.charge'],
    handlers: {
      'payment.charge': async (tx, cmd) => {
        const p = cmd.payload;
        const outcome = await charge(cmd.orderId, cmd.commandId, p);
        await recordCharge(tx, cmd.orderId, cmd.commandId, p, outcome);
        return outcome.kind === 'charged'
          ? succeeded({ chargeId: outcome.chargeId, amountCents: p.amountCents })
          : rejected(outcome.reason, 'the payment provider declined the charge');
      },

      'payment.refund': async (tx, cmd) => {
        // A charge whose answer was lost may have been made with no row to record it; the provider,
        // asked again under the charge's key, says which.
        const charged = await effectToUndo(
          tx,
          'payment',
          { type: 'payment.charge', orderId: cmd.orderId },
          {
            recorded: await chargeOf(tx, cmd.orderId),
            replay: async (noted) =>
              recordCharge(
                tx,
                cmd.orderId,
                noted.commandId,
                noted.payload,
                await charge(cmd.orderId, noted.commandId, noted.payload),
              ),
          },
        );
        if (!charged) return succeeded({ refunded: false, reason: 'no_charge' });
        // Nothing was charged: declined.
        if (charged.status !== 'charged' || !charged.charge_id) {
          return succeeded({ refunded: false, reason: charged.status });
        }
        const { refundId } = await provider.refund(
          { chargeId: charged.charge_id, amountCents: charged.amount_cents },
          providerKey(cmd.commandId),
        );
        await tx.query(
          `UPDATE payment.charges SET status = 'refunded', refund_id = $2, updated_at = now() WHERE order_id = $1`,
          [cmd.orderId, refundId],
        );
        return succeeded({ refunded: true, refundId, amountCents: charged.amount_cents });
      },
    },
  };
}

interface ChargeRow {
  charge_id: string | null;
  amount_cents: number;
  status: string;
}

async function chargeOf(tx: PoolClient, orderId: string): Promise<ChargeRow | undefined> {
  const { rows } = await tx.query<ChargeRow>(
    `SELECT charge_id, amount_cents, status FROM payment.charges WHERE order_id = $1 FOR UPDATE`,
    [orderId],
  );
  return rows[0];
}

async function recordCharge(
  tx: PoolClient,
  orderId: string,
  chargeCommandId: string,
  p: ChargePayload,
  outcome: ChargeOutcome,
): Promise<ChargeRow> {
  const { rows } = await tx.query<ChargeRow>(
    `INSERT INTO payment.charges (order_id, command_id, charge_id, amount_cents, currency, customer_id, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING charge_id, amount_cents, status`,
    [
      orderId,
      chargeCommandId,
      outcome.kind === 'charged' ? outcome.chargeId : null,
      p.amountCents,
      p.currency,
      p.customerId,
      outcome.kind === 'charged' ? 'charged' : 'declined',
    ],
  );
  return rows[0] as ChargeRow;
}
