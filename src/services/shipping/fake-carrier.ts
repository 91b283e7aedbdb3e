import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createFakeProviderApp, idempotent, isRefused } from '../core/fake-provider';

export interface CarrierLedger {
  shipments: {
    shipmentId: string;
    trackingNumber: string;
    orderId: string;
    idempotencyKey: string;
    cancelled: boolean;
    /** Where it goes, as the carrier was told: a carrier keeps that. */
    address: unknown;
  }[];
  rejections: { orderId: string; idempotencyKey: string }[];
  cancellations: { shipmentId: string; idempotencyKey: string }[];
}

const shipmentBody = z.object({
  orderId: z.string().min(1),
  address: z.unknown(),
  items: z.array(z.object({ sku: z.string(), quantity: z.number().int().min(1) })).min(1),
});

/** A stand-in for the carrier: `/shipments` and `/shipments/:id/cancel` as in docs/providers.md. */
export function createFakeCarrier() {
  const { app, state } = createFakeProviderApp<CarrierLedger>('carrier', () => ({
    shipments: [],
    rejections: [],
    cancellations: [],
  }));

  app.post('/shipments', async (req, reply) => {
    const body = shipmentBody.safeParse(req.body);
    if (!body.success)
      return reply.code(400).send({ error: 'invalid_request', issues: body.error.issues });
    if (state.faults.failOrderIds.includes(body.data.orderId))
      return reply.code(503).send({ error: 'temporarily_unavailable' });
    return idempotent(state, 'shipments', req, reply, (key) => {
      if (isRefused(state, { orderId: body.data.orderId }) || body.data.address === undefined) {
        state.ledger.rejections.push({ orderId: body.data.orderId, idempotencyKey: key });
        return { status: 422, body: { error: 'address_rejected' } };
      }
      const shipmentId = `shp_${randomUUID()}`;
      const trackingNumber = `TRK${Math.floor(Math.random() * 1e10)
        .toString()
        .padStart(10, '0')}`;
      state.ledger.shipments.push({
        shipmentId,
        trackingNumber,
        orderId: body.data.orderId,
        idempotencyKey: key,
        cancelled: false,
        address: body.data.address,
      });
      return { status: 201, body: { shipmentId, trackingNumber } };
    });
  });

  app.post<{ Params: { shipmentId: string } }>(
    '/shipments/:shipmentId/cancel',
    async (req, reply) => {
      const { shipmentId } = req.params;
      return idempotent(state, `cancel ${shipmentId}`, req, reply, (key) => {
        const s = state.ledger.shipments.find((x) => x.shipmentId === shipmentId);
        if (!s) return { status: 404, body: { error: 'shipment_not_found' } };
        s.cancelled = true;
        state.ledger.cancellations.push({ shipmentId, idempotencyKey: key });
        return { status: 200, body: { shipmentId, cancelled: true } };
      });
    },
  );

  return { app, state };
}
