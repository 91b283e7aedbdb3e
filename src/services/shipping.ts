import type { CancelShipmentCommand, CreateShipmentCommand } from '../domain/types';
import type { CarrierClient, ShipmentOutcome } from '../providers/carrier-client';
import { rejected, succeeded } from './handler';
import type { CommandHandler, ServiceDefinition } from './handler';
import { providerKey } from './payment';

export function shippingService(carrier: CarrierClient): ServiceDefinition {
  const create: CommandHandler<ShipmentOutcome> = {
    prepare: (cmd) => {
      const p = cmd.payload as CreateShipmentCommand;
      return carrier.createShipment(
        { orderId: cmd.orderId, address: p.address, items: p.items },
        providerKey(cmd.commandId),
      );
    },
    apply: async (tx, cmd, out) => {
      await tx.query(
        `INSERT INTO shipping.shipments (order_id, command_id, shipment_id, tracking_number, status) VALUES ($1, $2, $3, $4, $5)`,
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
  };

  const cancel: CommandHandler<void> = {
    prepare: (cmd) =>
      carrier.cancelShipment(
        (cmd.payload as CancelShipmentCommand).shipmentId,
        providerKey(cmd.commandId),
      ),
    apply: async (tx, cmd) => {
      await tx.query(
        `UPDATE shipping.shipments SET status = 'cancelled', updated_at = now() WHERE order_id = $1`,
        [cmd.orderId],
      );
      return succeeded({ cancelled: true });
    },
  };

  return { name: 'shipping', handlers: { 'shipping.create': create, 'shipping.cancel': cancel } };
}
