import type { CarrierClient } from './carrier-client';
import { providerKey, rejected, succeeded } from '../core/handler';
import type { ServiceOf } from '../core/handler';

export function shippingService(carrier: CarrierClient): ServiceOf<'shipping'> {
  return {
    name: 'shipping',
    handlers: {
      'shipping.create': async (tx, cmd) => {
        const p = cmd.payload;
        const out = await carrier.createShipment(
          { orderId: cmd.orderId, address: p.address, items: p.items },
          providerKey(cmd.commandId),
        );
        await tx.query(
          `INSERT INTO shipping.shipments (order_id, command_id, shipment_id, tracking_number, status)
           VALUES ($1, $2, $3, $4, $5)`,
          [
            cmd.orderId,
            cmd.commandId,
            out.kind === 'created' ? out.shipmentId : null,
            out.kind === 'created' ? out.trackingNumber : null,
            out.kind === 'created' ? 'created' : 'rejected',
          ],
        );
        return out.kind === 'created'
          ? succeeded({ shipmentId: out.shipmentId, trackingNumber: out.trackingNumber })
          : rejected(out.reason, 'the carrier rejected the shipment');
      },

      'shipping.cancel': async (tx, cmd) => {
        const { rows } = await tx.query<{ shipment_id: string | null; status: string }>(
          `SELECT shipment_id, status FROM shipping.shipments WHERE order_id = $1 FOR UPDATE`,
          [cmd.orderId],
        );
        const shipment = rows[0];
        if (!shipment || shipment.status !== 'created' || !shipment.shipment_id) {
          return succeeded({
            cancelled: false,
            reason: shipment ? shipment.status : 'no_shipment',
          });
        }
        await carrier.cancelShipment(shipment.shipment_id, providerKey(cmd.commandId));
        await tx.query(
          `UPDATE shipping.shipments SET status = 'cancelled', updated_at = now() WHERE order_id = $1`,
          [cmd.orderId],
        );
        return succeeded({ cancelled: true, shipmentId: shipment.shipment_id });
      },
    },
  };
}
