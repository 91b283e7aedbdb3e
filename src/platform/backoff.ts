/**
 * How long to wait before try number `attempt` (1 for the first retry): doubling from `initialMs`,
 * capped at `maxMs`. The one backoff of the app: redeliveries, publishes, workflow starts, restarts.
 */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  const doublings = Math.min(Math.max(0, attempt - 1), 30);
  return Math.min(maxMs, initialMs * 2 ** doublings);
}
