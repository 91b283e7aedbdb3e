import { setTimeout as delay } from 'node:timers/promises';

/**
 * At most `perSecond` calls a second, spaced evenly: a slow or rate-limited provider slows its step
 * (commands wait their turn in the lanes) instead of failing orders. 0 means no limit.
 */
export class RateLimiter {
  private next = 0;

  constructor(private readonly perSecond: number) {}

  async take(): Promise<void> {
    if (this.perSecond <= 0) return;
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + 1000 / this.perSecond;
    if (at > now) await delay(at - now);
  }
}
