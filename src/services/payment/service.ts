import type { PaymentProviderClient } from './payment-client';
import { providerKey, rejected, succeeded } from '../core/handler';
import type { ServiceOf } from '../core/handler';

export function paymentService(provider: PaymentProviderClient): ServiceOf<'payment'> {
  return {
    name: 'payment',
    handlers: {
      'payment.charge': async (tx, cmd) => {
        const p = cmd.payload;
        const outcome = await provider.charge(
          {
            orderId: cmd.orderId,
            amountCents: p.amountCents,
            currency: p.currency,
            customerId: p.customerId,
          },
          providerKey(cmd.commandId),
        );
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

      'payment.refund': async (tx, cmd) => {
        const { rows } = await tx.query<{
          charge_id: string | null;
          amount_cents: number;
          status: string;
        }>(
          `SELECT charge_id, amount_cents, status FROM payment.charges WHERE order_id = $1 FOR UPDATE`,
          [cmd.orderId],
        );
        const charge = rows[0];
        // Nothing was charged (declined, or the charge never arrived — and, being older, never will apply).
        if (!charge || charge.status !== 'charged' || !charge.charge_id) {
          return succeeded({ refunded: false, reason: charge ? charge.status : 'no_charge' });
        }
        const { refundId } = await provider.refund(
          { chargeId: charge.charge_id, amountCents: charge.amount_cents },
          providerKey(cmd.commandId),
        );
        await tx.query(
          `UPDATE payment.charges SET status = 'refunded', refund_id = $2, updated_at = now() WHERE order_id = $1`,
          [cmd.orderId, refundId],
        );
        return succeeded({ refunded: true, refundId, amountCents: charge.amount_cents });
      },
    },
  };
}
