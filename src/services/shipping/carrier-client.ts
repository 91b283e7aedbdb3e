import type { ShippingAddress } from '../../domain/types';
import { postWithKey, unexpected } from '../core/provider-http';
import { RateLimiter } from '../core/rate-limiter';

export type ShipmentOutcome =
  | { kind: 'created'; shipmentId: string; trackingNumber: string }
  | { kind: 'rejected'; reason: string };

/** Client of the carrier's HTTP contract (docs/providers.md). */
export class CarrierClient {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
    private readonly limiter = new RateLimiter(0),
  ) {}

  async createShipment(
    req: { orderId: string; address: ShippingAddress; items: { sku: string; quantity: number }[] },
    idempotencyKey: string,
  ): Promise<ShipmentOutcome> {
    await this.limiter.take();
    const r = await postWithKey(`${this.baseUrl}/shipments`, req, idempotencyKey, this.timeoutMs);
    if (r.status === 201 && typeof r.body.shipmentId === 'string') {
      return {
        kind: 'created',
        shipmentId: r.body.shipmentId,
        trackingNumber: typeof r.body.trackingNumber === 'string' ? r.body.trackingNumber : '',
      };
    }
    if (r.status === 422)
      return {
        kind: 'rejected',
        reason: typeof r.body.error === 'string' ? r.body.error : 'address_rejected',
      };
    return unexpected('create shipment', r);
  }

  async cancelShipment(shipmentId: string, idempotencyKey: string): Promise<void> {
    await this.limiter.take();
    const r = await postWithKey(
      `${this.baseUrl}/shipments/${encodeURIComponent(shipmentId)}/cancel`,
      {},
      idempotencyKey,
      this.timeoutMs,
    );
    if (r.status === 200) return;
    unexpected('cancel shipment', r);
  }
}
