import type { Config } from '../../src/platform/config';
import type { OrderDetails } from '../../src/orders/order-service';
import type { OrderRequestBody } from '../../src/domain/schemas';
import { TERMINAL_STATUSES } from '../../src/domain/types';
import type { OrderStatus, StepName } from '../../src/domain/types';
import { waitFor } from '../../src/platform/wait';
import { callerApiKey } from '../../src/platform/security/credentials';
import { ApiClient } from '../../src/client/api-client';
import { colourStatus, dim, table } from '../../src/cli/output';
import { ProgressLine, stderrOrLog } from '../../src/platform/progress-line';
import { say } from '../../src/cli/common';
import { sampleOrder } from '../../src/client/order-body';

export interface DemoOptions {
  orders: number;
  declined: number;
  timeoutMs: number;
}

export interface DemoResult {
  orders: OrderDetails[];
  byStatus: Record<string, number>;
  seconds: number;
}

const STEPS: StepName[] = ['inventory', 'payment', 'loyalty', 'shipping'];

/** The demo batch: most orders succeed, a few customers' cards are declined, one order wants more than the stock. */
export function demoBatch(
  runId: string,
  opts: DemoOptions,
): { orders: OrderRequestBody[]; declinedCustomers: string[] } {
  const declinedCustomers = Array.from(
    { length: opts.declined },
    (_, i) => `demo-declined-${i + 1}`,
  );
  const orders: OrderRequestBody[] = [];
  for (let i = 1; i <= opts.orders; i++) {
    const n = String(i).padStart(3, '0');
    const outOfStock = i === opts.orders;
    const declined = !outOfStock && i <= opts.declined;
    orders.push(
      sampleOrder({
        orderId: `demo-${runId}-${n}`,
        customerId: declined ? declinedCustomers[i - 1]! : `demo-customer-${(i % 5) + 1}`,
        items: outOfStock
          ? [{ sku: 'demo-rare-lamp', quantity: 5, unitPriceCents: 12_900 }]
          : [
              { sku: 'demo-widget', quantity: 1 + (i % 3), unitPriceCents: 1_250 },
              { sku: 'demo-gadget', quantity: 1, unitPriceCents: 4_999 },
            ],
        shippingAddress: {
          name: `Customer ${n}`,
          line1: `${i} Harbour Street`,
          city: 'Rotterdam',
          postalCode: '3011',
          country: 'NL',
        },
      }),
    );
  }
  return { orders, declinedCustomers };
}

export async function runDemoBatch(
  config: Config,
  opts: DemoOptions,
  apiUrl: string,
): Promise<DemoResult> {
  const api = new ApiClient(apiUrl, callerApiKey(config));
  const runId = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const { orders, declinedCustomers } = demoBatch(runId, opts);
  const progressLine = () => new ProgressLine(stderrOrLog(say), Date.now, 2_000);
  let line = progressLine();

  await api.ok('PUT', '/inventory/demo-widget', { available: 100_000 });
  await api.ok('PUT', '/inventory/demo-gadget', { available: 100_000 });
  await api.ok('PUT', '/inventory/demo-rare-lamp', { available: 2 });
  if (config.providers.useFakes) {
    await new ApiClient(config.providers.paymentUrl).ok('POST', '/_control/faults', {
      refuseCustomerIds: declinedCustomers,
    });
  }

  const started = Date.now();
  for (const [i, order] of orders.entries()) {
    await api.ok('POST', '/orders', order);
    line.show(`placed ${i + 1}/${orders.length} orders`);
  }
  line.finish(`placed ${orders.length} orders`);
  line = progressLine();

  const latest = new Map<string, OrderDetails>();
  await waitFor(
    'every demo order to finish',
    async () => {
      await Promise.all(
        orders
          .filter((o) => !TERMINAL_STATUSES.includes(latest.get(o.orderId!)?.status ?? 'PENDING'))
          .map(async (o) =>
            latest.set(o.orderId!, await api.ok<OrderDetails>('GET', `/orders/${o.orderId}`)),
          ),
      );
      const counts = countBy([...latest.values()].map((o) => o.status));
      const done = [...latest.values()].filter((o) => TERMINAL_STATUSES.includes(o.status)).length;
      line.show(
        `${done}/${orders.length} finished  ` +
          Object.entries(counts)
            .map(([s, n]) => `${s} ${n}`)
            .join(', '),
      );
      return done === orders.length;
    },
    { timeoutMs: opts.timeoutMs, intervalMs: 250 },
  );
  const seconds = (Date.now() - started) / 1000;
  line.finish(`all ${orders.length} orders finished in ${seconds.toFixed(1)} s`);
  const finished = orders.map((o) => latest.get(o.orderId!)!);
  return { orders: finished, byStatus: countBy(finished.map((o) => o.status)), seconds };
}

function countBy(values: OrderStatus[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

export function demoTable(orders: OrderDetails[]): string {
  return table(
    ['order', 'status', ...STEPS, 'Temporal UI'],
    orders.map((o) => [
      o.orderId,
      colourStatus(o.status),
      ...STEPS.map((s) => {
        const step = o.steps?.[s];
        if (!step) return '-';
        return step.detail
          ? `${colourStatus(step.state)} ${dim(`(${step.detail})`)}`
          : colourStatus(step.state);
      }),
      o.links.temporalUi,
    ]),
  );
}
