import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/**
 * Credentials that may ride along in a logged request or error: replaced before a line is written.
 * (The API logs no request lines, but an error may carry the request it failed on.)
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.req.headers.authorization',
  '*.req.headers["x-api-key"]',
];

/** One JSON logger per process; children carry the ids that matter (orderId, commandId). */
export function createLogger(
  name: string,
  level: string,
  destination?: pino.DestinationStream,
): Logger {
  const options = {
    name,
    level,
    base: { svc: name },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
