import { ApiClient } from '../../src/client/api-client';
import type { ApiClient as Api } from '../../src/client/api-client';
import { sampleOrder } from '../../src/client/order-body';
import type { OrderDetails } from '../../src/orders/order-service';
import type { Config } from '../../src/platform/config';
import { waitFor } from '../../src/platform/wait';
import path from 'node:path';
import { Supervisor } from '../../src/processes/supervisor';
import type { ProcessName } from '../../src/processes/table';
import { fetchLedgers } from '../chaos/invariants';
import type { Ledgers } from '../chaos/invariants';

/** The drills' orders: each its own SKU with STOCK units and its own customer, so its ledgers are its own. */

export const STOCK = 10;

export interface DrillOrders {
  config: Config;
  api: Api;
  /** Every order id, SKU and customer of the run starts with it. */
  runId: string;
  seq: number;
}

export interface Placed {
  orderId: string;
  sku: string;
  customerId: string;
  placedAt: number;
}

/** Places one order of two units at 25.00 through the API. */
export async function place(d: DrillOrders): Promise<Placed> {
  const n = d.seq++;
  const o = {
    orderId: `${d.runId}-${n}`,
    sku: `${d.runId}-sku-${n}`,
    customerId: `${d.runId}-c-${n}`,
  };
  // Setting stock is safe to repeat: a loaded machine's busy inventory service (503) is asked again.
  await waitFor(
    `stock for ${o.sku}`,
    async () => {
      await d.api.ok('PUT', `/inventory/${o.sku}`, { available: STOCK });
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  const placedAt = Date.now();
  await d.api.ok(
    'POST',
    '/orders',
    sampleOrder({
      orderId: o.orderId,
      customerId: o.customerId,
      items: [{ sku: o.sku, quantity: 2, unitPriceCents: 2_500 }],
    }),
  );
  return { ...o, placedAt };
}

export const orderOf = (d: DrillOrders, o: Placed) =>
  d.api.ok<OrderDetails>('GET', `/orders/${o.orderId}`);

/** The providers' ledgers, read once for many orders' checks. */
export const ledgersOf = (d: DrillOrders): Promise<Ledgers> =>
  fetchLedgers(d.config.providers.paymentUrl, d.config.providers.carrierUrl);

/** Sets every fake provider's latency per call. */
export async function slowProviders(d: DrillOrders, latencyMs: number): Promise<void> {
  for (const url of [d.config.providers.paymentUrl, d.config.providers.carrierUrl])
    await new ApiClient(url).ok('POST', '/_control/faults', { latencyMs });
}

/**
 * Whether the order's ledgers hold: completed once (one charge, one live shipment, stock taken,
 * points given), or undone wholly. Answers what is wrong, or undefined when they hold.
 */
export async function unwhole(
  d: DrillOrders,
  o: Placed,
  completed: boolean,
  ledgers?: Ledgers,
): Promise<string | undefined> {
  const [view, stock, points, l] = await Promise.all([
    orderOf(d, o),
    d.api.ok<{ available: number; reserved: number }>('GET', `/inventory/${o.sku}`),
    d.api.ok<{ points: number }>('GET', `/customers/${o.customerId}/points`),
    ledgers ?? ledgersOf(d),
  ]);
  const charges = l.payment.charges.filter((c) => c.orderId === o.orderId);
  const refunded = l.payment.refunds.filter((r) => charges.some((c) => c.chargeId === r.chargeId));
  const live = l.carrier.shipments.filter((s) => s.orderId === o.orderId && !s.cancelled);
  const facts = `status ${view.status}, ${charges.length} charges, ${refunded.length} refunds, ${live.length} live shipments, stock ${stock.available}+${stock.reserved} reserved, ${points.points} points`;
  const holds = completed
    ? view.status === 'COMPLETED' &&
      charges.length === 1 &&
      refunded.length === 0 &&
      live.length === 1 &&
      stock.available === STOCK - 2 &&
      stock.reserved === 0 &&
      points.points === 50
    : view.status === 'TERMINATED' &&
      charges.length === refunded.length &&
      live.length === 0 &&
      stock.available === STOCK &&
      stock.reserved === 0 &&
      points.points === 0;
  return holds ? undefined : facts;
}

/**
 * The app's processes as a drill runs them on its stack: no rate limit on the API (the drill is its
 * only caller), no restarts (a death is a finding), logs under `<stack>/logs/<name>`.
 */
export function drillSupervisor(
  config: Config,
  name: string,
  progress: (line: string) => void,
  names?: ProcessName[],
): Supervisor {
  return new Supervisor({
    config,
    ...(names ? { names } : {}),
    env: {
      SHIPSHAPE_STACK_DIR: config.stack.dir,
      SHIPSHAPE_PORT_OFFSET: process.env.SHIPSHAPE_PORT_OFFSET,
      SHIPSHAPE_API_RATE_PER_MIN: '0',
      LOG_LEVEL: process.env.LOG_LEVEL,
    },
    log: (line) => progress(`shipshape: ${line}`),
    restart: false,
    readyTimeoutMs: 300_000,
    logDir: path.join(config.stack.dir, 'logs', name),
  });
}
