import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { errors } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import { z } from 'zod';
import { idSchema, inventoryPutSchema, skuSchema } from '../../domain/schemas';
import type { ReplyEnvelope, ServiceName } from '../../domain/types';
import type { Logger } from '../../platform/logger';

/**
 * What a service answers about its own tables, asked over NATS request and reply: a service's tables
 * are its own, and every other process (the API, the reconciler, the Temporal worker) asks it rather
 * than reading them. Each service answers on `svc.<service>.<query>`, its replicas in one queue
 * group; NATS lets it answer the requests it receives and publish nothing else there.
 */

export interface Stock {
  sku: string;
  available: number;
  reserved: number;
}

/** Each question, what it is asked with and what it answers. */
export interface Queries {
  /** The service's stored reply to a command, or null if it never handled it (a reconcile asks). */
  record: { ask: { commandId: string }; answer: ReplyEnvelope | null };
  /** Of these orders, those it still holds an effect of (a charge, a shipment, points, stock). */
  holds: { ask: { orderIds: string[] }; answer: string[] };
  'stock.get': { ask: { sku: string }; answer: Stock | null };
  'stock.set': { ask: { sku: string; available: number }; answer: Stock };
  points: { ask: { customerId: string }; answer: number };
}
export type QueryName = keyof Queries;

/** What each question must be asked with: checked before a service looks anything up. */
const ASKS: Record<QueryName, z.ZodType> = {
  record: z.object({ commandId: z.string().min(1).max(300) }),
  holds: z.object({ orderIds: z.array(idSchema).max(1_000) }),
  'stock.get': z.object({ sku: skuSchema }),
  'stock.set': inventoryPutSchema.extend({ sku: skuSchema }),
  points: z.object({ customerId: idSchema }),
};

/** A service's answers to the questions it takes. */
export type QueryHandlers = {
  [Q in QueryName]?: (pool: Pool, ask: Queries[Q]['ask']) => Promise<Queries[Q]['answer']>;
};

export const querySubject = (service: ServiceName, query: QueryName): string =>
  `svc.${service}.${query}`;
export const serviceQueries = (service: ServiceName): string => `svc.${service}.>`;

/** How long an asker waits for an answer before it says the service is unavailable. */
export const QUERY_TIMEOUT_MS = 2_000;

/** The service did not answer in time, or none of its processes runs. */
export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
  constructor(
    readonly service: ServiceName,
    cause?: unknown,
  ) {
    super(`the ${service} service did not answer: it may be down or busy`, { cause });
  }
}

/** The service's answer to `query`; ServiceUnavailableError when it does not answer in time. */
export async function askService<Q extends QueryName>(
  nc: NatsConnection,
  service: ServiceName,
  query: Q,
  ask: Queries[Q]['ask'],
  timeoutMs = QUERY_TIMEOUT_MS,
): Promise<Queries[Q]['answer']> {
  let msg: Msg;
  try {
    msg = await nc.request(querySubject(service, query), JSON.stringify(ask), {
      timeout: timeoutMs,
    });
  } catch (err) {
    if (err instanceof errors.RequestError || err instanceof errors.TimeoutError)
      throw new ServiceUnavailableError(service, err);
    throw err;
  }
  const answer = msg.json<
    { ok: true; value: Queries[Q]['answer'] } | { ok: false; error: string }
  >();
  if (!answer.ok)
    throw new Error(`the ${service} service could not answer ${query}: ${answer.error}`);
  return answer.value;
}

/** Asks a service a question; what the API is given, so that it holds no connection of its own here. */
export type AskService = <Q extends QueryName>(
  service: ServiceName,
  query: Q,
  ask: Queries[Q]['ask'],
) => Promise<Queries[Q]['answer']>;

export const askerOf =
  (nc: NatsConnection): AskService =>
  (service, query, ask) =>
    askService(nc, service, query, ask);

/**
 * Answers the questions `handlers` takes, on the service's subjects, in its queue group, until the
 * subscription is drained. A question it cannot answer (bad input, a failing query) gets an error
 * answer naming why; the asker is never left waiting for one.
 */
export function serveQueries(
  nc: NatsConnection,
  pool: Pool,
  service: ServiceName,
  handlers: QueryHandlers,
  log: Logger,
): Subscription {
  return nc.subscribe(serviceQueries(service), {
    queue: `svc-${service}`,
    callback: (err, msg) => {
      if (err) return log.error({ err }, 'query subscription failed');
      const query = msg.subject.slice(`svc.${service}.`.length) as QueryName;
      const handler = handlers[query] as
        ((pool: Pool, ask: unknown) => Promise<unknown>) | undefined;
      const answer = async () => {
        if (!handler || !(query in ASKS))
          return { ok: false, error: `${service} answers no "${query}"` };
        let ask: unknown;
        try {
          ask = ASKS[query].parse(msg.json());
        } catch (e) {
          return { ok: false, error: `a "${query}" asked with bad input: ${(e as Error).message}` };
        }
        try {
          return { ok: true, value: await handler(pool, ask) };
        } catch (e) {
          log.warn({ err: e, query }, 'query failed');
          return { ok: false, error: (e as Error).message };
        }
      };
      void answer().then((a) => msg.respond(JSON.stringify(a)));
    },
  });
}
