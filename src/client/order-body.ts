import type { OrderRequestBody } from '../domain/schemas';
import type { OrderItem, ShippingAddress } from '../domain/types';

/** The address of the sample orders, where the caller names none. */
export const SAMPLE_ADDRESS = {
  name: 'Ada',
  line1: '1 Quay',
  city: 'Leith',
  postalCode: 'EH6',
  country: 'GB',
} as const satisfies ShippingAddress;

/**
 * A body for `POST /orders`: the one shape of the sample orders that the demo, the benchmarks, the
 * chaos campaign and the tests place. EUR, and the sample address unless one is given.
 */
export function sampleOrder(order: {
  orderId?: string;
  customerId: string;
  items: OrderItem[];
  shippingAddress?: ShippingAddress;
}): OrderRequestBody {
  return {
    ...(order.orderId !== undefined ? { orderId: order.orderId } : {}),
    customerId: order.customerId,
    items: order.items.map((i) => ({ ...i })),
    currency: 'EUR',
    shippingAddress: order.shippingAddress ?? { ...SAMPLE_ADDRESS },
  };
}
