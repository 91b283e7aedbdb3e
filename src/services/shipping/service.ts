import type { PoolClient } from 'pg';
import type { CommandEnvelope, ShippingAddress } from '../../domain/types';
import { PersonalDataError } from '../../platform/security/personal-data';
import type { PersonalData } from '../../platform/security/personal-data';
import { TransientError } from '../core/errors';
import type { CarrierClient, ShipmentOutcome } from './carrier-client';
import { providerKey, rejected, succeeded } from '../core/handler';
import type { ServiceOf } from '../core/handler';
import { effectToUndo } from '../core/provider-calls';

/**
 * The shipping service: creates and cancels shipments with the carrier. It is the one process that
 * opens an order's sealed address (`personal`), to hand it to the carrier.
 */
export function shippingService(
  carrier: CarrierClient,
  personal: PersonalData,
): ServiceOf<'shipping'> {
  /** Asks the carrier for the shipment under the create command's key: made once, answered every time. */
  const create = (
    orderId: string,
    createCommandId: string,
    p: CommandEnvelope<'shipping.create'>['payload'],
  ): Promise<ShipmentOutcome> =>
    carrier.createShipment(
      { orderId, address: addressOf(personal, p.address), items: p.items },
      providerKey(createCommandId),
    );

  return {
    name: 'shipping',
    providerCalls: ['shipping.create'],
    handlers: {
      'shipping.create': async (tx, cmd) => {
        const out = await create(cmd.orderId, cmd.commandId, cmd.payload);
        await recordShipment(tx, cmd.orderId, cmd.commandId, out);
        return out.kind === 'created'
          ? succeeded({ shipmentId: out.shipmentId, trackingNumber: out.trackingNumber })
          : rejected(out.reason, 'the carrier rejected the shipment');
      },

      'shipping.cancel': async (tx, cmd) => {
        // A create whose answer was lost may have made a shipment no row records; the carrier,
        // asked again under the create's key, says which (and makes it, if the create never got there).
        const shipment = await effectToUndo(
          tx,
          'shipping',
          { type: 'shipping.create', orderId: cmd.orderId },
          {
            recorded: await shipmentOf(tx, cmd.orderId),
            replay: async (noted) =>
              recordShipment(
                tx,
                cmd.orderId,
                noted.commandId,
                await create(cmd.orderId, noted.commandId, noted.payload),
              ),
          },
        );
        if (!shipment) return succeeded({ cancelled: false, reason: 'no_shipment' });
        if (shipment.status !== 'created' || !shipment.shipment_id) {
          return succeeded({ cancelled: false, reason: shipment.status });
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

/**
 * The address, opened. One sealed under a key this process lacks is tried again later, as the
 * carrier being down would be: the key may be put back, and nothing is lost meanwhile.
 */
function addressOf(
  personal: PersonalData,
  address: CommandEnvelope<'shipping.create'>['payload']['address'],
): ShippingAddress {
  try {
    return personal.address(address);
  } catch (err) {
    if (err instanceof PersonalDataError) throw new TransientError(err.message);
    throw err;
  }
}

interface ShipmentRow {
  shipment_id: string | null;
  status: string;
}

async function shipmentOf(tx: PoolClient, orderId: string): Promise<ShipmentRow | undefined> {
  const { rows } = await tx.query<ShipmentRow>(
    `SELECT shipment_id, status FROM shipping.shipments WHERE order_id = $1 FOR UPDATE`,
    [orderId],
  );
  return rows[0];
}

async function recordShipment(
  tx: PoolClient,
  orderId: string,
  createCommandId: string,
  out: ShipmentOutcome,
): Promise<ShipmentRow> {
  const { rows } = await tx.query<ShipmentRow>(
    `INSERT INTO shipping.shipments (order_id, command_id, shipment_id, tracking_number, status)
     VALUES ($1, $2, $3, $4, $5) RETURNING shipment_id, status`,
    [
      orderId,
      createCommandId,
      out.kind === 'created' ? out.shipmentId : null,
      out.kind === 'created' ? out.trackingNumber : null,
      out.kind === 'created' ? 'created' : 'rejected',
    ],
  );
  return rows[0] as ShipmentRow;
}
