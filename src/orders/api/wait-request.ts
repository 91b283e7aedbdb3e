import { z } from 'zod';
import { WAIT_POINTS } from '../../domain/wait-points';
import type { WaitPoint } from '../../domain/wait-points';

/**
 * How a caller asks `POST /orders` to wait for its order: `?wait=accepted|paid|shipped` names the
 * point, `Prefer: wait=N` (RFC 7240) how many seconds it may take. Either alone is enough: a point
 * without a time waits DEFAULT_WAIT_SECONDS, a time without a point waits for `paid`.
 */

/** How long a wait that names no time lasts. */
export const DEFAULT_WAIT_SECONDS = 10;
/** The longest wait: past it, callers and the proxies between them give up on an open request. */
export const MAX_WAIT_SECONDS = 60;
/** The point a wait that names only its time waits for: the payment decided. */
export const DEFAULT_WAIT_POINT: WaitPoint = 'paid';

export interface WaitRequest {
  until: WaitPoint;
  seconds: number;
  /** True when the caller named the time (`Prefer: wait=N`): the answer says it was applied. */
  preferred: boolean;
}

/**
 * The `wait` preference of a Prefer header (other preferences are left to others), as seconds:
 * undefined when there is none, NaN when it is not whole seconds within 1…MAX_WAIT_SECONDS.
 */
export function preferredWaitSeconds(prefer: string | undefined): number | undefined {
  if (prefer === undefined) return undefined;
  for (const preference of prefer.split(',')) {
    const [token = '', ...value] = preference.split(';')[0]!.split('=');
    if (token.trim().toLowerCase() !== 'wait') continue;
    const seconds = value
      .join('=')
      .trim()
      .replace(/^"(.*)"$/, '$1');
    if (!/^\d{1,4}$/.test(seconds)) return NaN;
    const n = Number(seconds);
    return n >= 1 && n <= MAX_WAIT_SECONDS ? n : NaN;
  }
  return undefined;
}

export const waitQuerySchema = z.object({
  wait: z
    .enum(WAIT_POINTS)
    .optional()
    .describe(
      'Wait until the order reaches this point, or ends, before answering: `accepted` (its workflow ' +
        'has taken it), `paid` (the charge went through) or `shipped` (the carrier has it). ' +
        `Answers 200 with the order's state then, or the usual 202 when the wait runs out ` +
        `(${DEFAULT_WAIT_SECONDS} s, or as \`Prefer: wait=N\` says).`,
    ),
});

export const preferHeaderSchema = z
  .string()
  .refine((v) => !Number.isNaN(preferredWaitSeconds(v)), {
    message: `wait must be whole seconds from 1 to ${MAX_WAIT_SECONDS}`,
  })
  .optional()
  .describe(
    `RFC 7240 preferences; \`wait=N\` (1…${MAX_WAIT_SECONDS} seconds) waits that long for the ` +
      `order to reach \`?wait\` (\`${DEFAULT_WAIT_POINT}\` when not given); the answer then says ` +
      '`Preference-Applied: wait=N`. Other preferences are ignored.',
  );

/** The wait a request asks for (both parts checked already by the route's schemas), or none. */
export function waitRequest(
  point: WaitPoint | undefined,
  prefer: string | undefined,
): WaitRequest | undefined {
  const seconds = preferredWaitSeconds(prefer);
  if (point === undefined && seconds === undefined) return undefined;
  return {
    until: point ?? DEFAULT_WAIT_POINT,
    seconds: seconds ?? DEFAULT_WAIT_SECONDS,
    preferred: seconds !== undefined,
  };
}
