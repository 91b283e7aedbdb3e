import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { Registry } from 'prom-client';
import { buildApi } from '../../src/orders/api/server';
import type { ApiDeps } from '../../src/orders/api/server';
import { createLogger } from '../../src/platform/logger';
import { parseApiKeys } from '../../src/platform/security/api-keys';

/** The keys of an API built by `buildTestApi`: a shop's, an operator's (every scope), the codec's. */
export const CLIENT = 'client-secret-0123456789-abcdefgh';
export const OPERATOR = 'operator-secret-0123456789-abcdefgh';
export const CODEC = 'codec-secret-0123456789-abcdefgh';
const KEYS = parseApiKeys(
  `shop:orders:write+orders:read:${CLIENT},ops:*:${OPERATOR},ui:codec:${CODEC}`,
);

/** Every call the API makes to the order service or the database, which no invalid request may cause. */
export interface Recorder {
  calls: string[];
  logs: string[];
  /** Waits (POST /orders?wait=…) last until their signal ends them, as a wait on a slow order does. */
  holdWaits?: boolean;
}

function standIns(rec: Recorder): Pick<ApiDeps, 'orders' | 'pool' | 'ask'> {
  const placed = {
    orderId: 'o-1',
    workflowId: 'order-o-1',
    status: 'PENDING' as const,
    links: { self: '/orders/o-1', cancel: '', reconcile: '', temporalUi: '' },
  };
  return {
    orders: {
      place: async () => {
        rec.calls.push('place');
        return { order: placed, created: true };
      },
      placeAndWait: async (_body, _key, wait) => {
        rec.calls.push('placeAndWait');
        // Held: the wait lasts until its caller goes away or the API stops.
        if (rec.holdWaits)
          await new Promise((ended) => wait.signal?.addEventListener('abort', ended));
        return { order: placed, created: true };
      },
      get: async () => {
        rec.calls.push('get');
        return undefined;
      },
      cancel: async () => {
        rec.calls.push('cancel');
        return { kind: 'not_found' as const };
      },
      reconcile: async () => {
        rec.calls.push('reconcile');
        return { kind: 'not_found' as const };
      },
      resolve: async () => {
        rec.calls.push('resolve');
        return { kind: 'not_found' as const };
      },
    },
    pool: {
      query: async () => {
        rec.calls.push('query');
        return { rows: [{ sku: 's', available: 1, reserved: 0, points: 0 }] };
      },
    } as unknown as Pool,
    // A service asked about its tables (stock, points): recorded like a database call.
    ask: async (service: string, query: string) => {
      rec.calls.push(`ask ${service} ${query}`);
      return query === 'points' ? 0 : { sku: 's', available: 1, reserved: 0 };
    },
  };
}

/**
 * The API with stand-ins for the order service and the database, which record every call; each key may
 * make `ratePerMin` requests a minute, and each address as many without a valid key unless told.
 */
export function buildTestApi(
  rec: Recorder,
  ratePerMin: number,
  anonymousRatePerMin = ratePerMin,
): FastifyInstance {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      rec.logs.push(chunk.toString());
      done();
    },
  });
  return buildApi({
    ...standIns(rec),
    registry: new Registry(),
    log: createLogger('api-test', 'info', sink),
    auth: { keys: KEYS, ratePerMin, anonymousRatePerMin },
  });
}
