import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** One JSON logger per process; children carry the ids that matter (orderId, commandId). */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { svc: name } });
}
