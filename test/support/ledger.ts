import assert from 'node:assert/strict';
import { waitFor } from '../../src/platform/wait';
import { http } from './harness';
import type { Harness } from './harness';

/** An order as a test placed it: its id, its one SKU and its customer (both its own). */
export interface PlacedOrder {
  orderId: string;
  sku: string;
  customerId: string;
}

/** What the outside world holds of one order: the providers' ledgers, stock, points. */
export interface OrderLedger {
  /** Charges minus refunds at the payment provider. */
  charged: number;
  charges: number;
  /** Shipments at the carrier not cancelled, and all of them. */
  liveShipments: number;
  shipments: number;
  available: number;
  reserved: number;
  points: number;
}

export async function ledgerOf(h: Harness, o: PlacedOrder): Promise<OrderLedger> {
  const charges = h.payment.state.ledger.charges.filter((c) => c.orderId === o.orderId);
  const ids = new Set(charges.map((c) => c.chargeId));
  const refunds = h.payment.state.ledger.refunds.filter((r) => ids.has(r.chargeId));
  const shipments = h.carrier.state.ledger.shipments.filter((s) => s.orderId === o.orderId);
  const stock = (
    await http<{ available: number; reserved: number }>(h, 'GET', `/inventory/${o.sku}`)
  ).body;
  const points = (await http<{ points: number }>(h, 'GET', `/customers/${o.customerId}/points`))
    .body.points;
  return {
    charged: charges.length - refunds.length,
    charges: charges.length,
    liveShipments: shipments.filter((s) => !s.cancelled).length,
    shipments: shipments.length,
    available: stock.available,
    reserved: stock.reserved,
    points,
  };
}

/**
 * Waits until the order's ledger invariants hold, as the chaos campaign checks them: a completed
 * order charged once, shipped once, its units gone and its points credited; any other order charged
 * nothing, nothing live at the carrier, every unit back, no points. Answers the ledger.
 */
export async function madeWhole(
  h: Harness,
  o: PlacedOrder,
  expect: { completed: boolean; stock: number; quantity: number; points: number },
  timeoutMs = 60_000,
): Promise<OrderLedger> {
  const want: Partial<OrderLedger> = expect.completed
    ? {
        charged: 1,
        liveShipments: 1,
        available: expect.stock - expect.quantity,
        reserved: 0,
        points: expect.points,
      }
    : { charged: 0, liveShipments: 0, available: expect.stock, reserved: 0, points: 0 };
  let last: OrderLedger | undefined;
  try {
    return await waitFor(
      `order ${o.orderId}'s ledger to hold`,
      async () => {
        last = await ledgerOf(h, o);
        const l = last;
        return Object.entries(want).every(([k, v]) => l[k as keyof OrderLedger] === v)
          ? l
          : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );
  } catch (err) {
    assert.fail(
      `${(err as Error).message}: want ${JSON.stringify(want)}, have ${JSON.stringify(last)}`,
    );
  }
}
