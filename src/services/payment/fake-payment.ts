import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createFakeProviderApp, idempotent, isRefused } from '../core/fake-provider';

export interface PaymentLedger {
  charges: {
    chargeId: string;
    orderId: string;
    customerId: string;
    amountCents: number;
    currency: string;
    idempotencyKey: string;
  }[];
  refunds: { refundId: string; chargeId: string; amountCents: number; idempotencyKey: string }[];
  declines: { orderId: string; customerId: string; idempotencyKey: string }[];
}

const chargeBody = z.object({
  orderId: z.string().min(1),
  amountCents: z.number().int().min(0),
  currency: z.string().length(3),
  customerId: z.string().min(1),
});
const refundBody = z.object({ chargeId: z.string().min(1), amountCents: z.number().int().min(0) });

/** A stand-in for the payment company: `/charges` and `/refunds` as in docs/providers.md. */
export function createFakePaymentProvider() {
  const { app, state } = createFakeProviderApp<PaymentLedger>('payment', () => ({
    charges: [],
    refunds: [],
    declines: [],
  }));

  app.post('/charges', async (req, reply) => {
    const body = chargeBody.safeParse(req.body);
    if (!body.success)
      return reply.code(400).send({ error: 'invalid_request', issues: body.error.issues });
    if (state.faults.failOrderIds.includes(body.data.orderId)) {
      return reply.code(503).send({ error: 'temporarily_unavailable' });
    }
    return idempotent(state, 'charges', req, reply, (key) => {
      if (isRefused(state, body.data)) {
        state.ledger.declines.push({
          orderId: body.data.orderId,
          customerId: body.data.customerId,
          idempotencyKey: key,
        });
        return { status: 402, body: { error: 'card_declined' } };
      }
      const chargeId = `ch_${randomUUID()}`;
      state.ledger.charges.push({ chargeId, ...body.data, idempotencyKey: key });
      return { status: 201, body: { chargeId } };
    });
  });

  app.post('/refunds', async (req, reply) => {
    const body = refundBody.safeParse(req.body);
    if (!body.success)
      return reply.code(400).send({ error: 'invalid_request', issues: body.error.issues });
    return idempotent(state, 'refunds', req, reply, (key) => {
      if (!state.ledger.charges.some((c) => c.chargeId === body.data.chargeId)) {
        return { status: 404, body: { error: 'charge_not_found' } };
      }
      const refundId = `re_${randomUUID()}`;
      state.ledger.refunds.push({ refundId, ...body.data, idempotencyKey: key });
      return { status: 201, body: { refundId } };
    });
  });

  return { app, state };
}
