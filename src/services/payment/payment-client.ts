import { postWithKey, unexpected } from '../core/provider-http';
import { RateLimiter } from '../core/rate-limiter';

export type ChargeOutcome =
  { kind: 'charged'; chargeId: string } | { kind: 'declined'; reason: string };

/** Client of the payment provider's HTTP contract (docs/providers.md). */
export class PaymentProviderClient {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
    private readonly limiter = new RateLimiter(0),
  ) {}

  async charge(
    req: { orderId: string; amountCents: number; currency: string; customerId: string },
    idempotencyKey: string,
  ): Promise<ChargeOutcome> {
    await this.limiter.take();
    const r = await postWithKey(`${this.baseUrl}/charges`, req, idempotencyKey, this.timeoutMs);
    if (r.status === 201 && typeof r.body.chargeId === 'string')
      return { kind: 'charged', chargeId: r.body.chargeId };
    if (r.status === 402)
      return {
        kind: 'declined',
        reason: typeof r.body.error === 'string' ? r.body.error : 'card_declined',
      };
    return unexpected('charge', r);
  }

  async refund(
    req: { chargeId: string; amountCents: number },
    idempotencyKey: string,
  ): Promise<{ refundId: string }> {
    await this.limiter.take();
    const r = await postWithKey(`${this.baseUrl}/refunds`, req, idempotencyKey, this.timeoutMs);
    if (r.status === 201 && typeof r.body.refundId === 'string')
      return { refundId: r.body.refundId };
    return unexpected('refund', r);
  }
}
