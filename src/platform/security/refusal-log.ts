import type { Logger } from '../logger';

/** What each refusal of a request means, for its log line. */
const REFUSALS: Record<number, string> = {
  400: 'invalid request',
  401: 'no valid API key',
  403: 'the key lacks the scope',
  413: 'body over the limit',
  415: 'body not JSON',
  429: 'over the rate limit',
};

/** How long a caller's refusals of one kind share a log line. */
const WINDOW_MS = 60_000;
/** Callers tracked at once; past it the tracking starts over (so lines, not memory, grow). */
const MAX_TRACKED = 10_000;

/**
 * Logs an HTTP server's refusals of hostile or broken requests (the answers above; the API's and the
 * codec server's), one line per caller and kind a minute: a caller that keeps sending them, with a
 * wrong key say, shows up at once without filling the disk; the next line says how many were not
 * logged. The caller is the key's name, or the address when no valid key came; never a secret nor
 * the body.
 */
export class RefusalLog {
  private readonly seen = new Map<string, { until: number; unlogged: number }>();

  constructor(private readonly log: Logger) {}

  /** Notes an answer; logs it if it is a refusal and its caller's first of that kind this minute. */
  answered(status: number, r: { method: string; route: string; key?: string; ip: string }): void {
    const refusal = REFUSALS[status];
    if (!refusal) return;
    const caller = r.key !== undefined ? `key ${r.key}` : `address ${r.ip}`;
    const id = `${status} ${caller}`;
    const now = Date.now();
    const last = this.seen.get(id);
    if (last && now < last.until) {
      last.unlogged++;
      return;
    }
    if (!last && this.seen.size >= MAX_TRACKED) this.seen.clear();
    this.seen.set(id, { until: now + WINDOW_MS, unlogged: 0 });
    this.log.warn(
      {
        status,
        method: r.method,
        route: r.route,
        ...(r.key !== undefined ? { apiKey: r.key } : { address: r.ip }),
        ...(last?.unlogged ? { notLoggedSince: last.unlogged } : {}),
      },
      `request refused: ${refusal}`,
    );
  }
}
