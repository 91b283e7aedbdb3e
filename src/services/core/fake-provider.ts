import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';

/**
 * What the fake providers share: an idempotency-key store that replays the first answer for a
 * repeated key (as real providers do), a ledger of effects, and fault injection set over HTTP.
 */

export const faultsSchema = z.object({
  /** Added to every call. */
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  /** The next N calls answer 503 without doing anything. */
  failNext: z.number().int().min(0).optional(),
  /** The next N calls answer 400 without doing anything: a request the provider will never accept. */
  badRequestNext: z.number().int().min(0).optional(),
  /** The next N calls do the work, then drop the connection without answering. */
  dropResponseNext: z.number().int().min(0).optional(),
  /** Business refusals (payment: decline; carrier: reject the address), by customer or order id. */
  refuseCustomerIds: z.array(z.string()).optional(),
  refuseOrderIds: z.array(z.string()).optional(),
  /** Every call for these orders answers 503, until the list is changed. */
  failOrderIds: z.array(z.string()).optional(),
});
export type Faults = z.infer<typeof faultsSchema>;

interface StoredAnswer {
  status: number;
  body: unknown;
  fingerprint: string;
}

export interface FakeProviderState<L> {
  ledger: L;
  faults: Required<Faults>;
  answers: Map<string, StoredAnswer>;
  /** Every call that reached the provider, keys included, for tests to count. */
  calls: { route: string; idempotencyKey: string; replayed: boolean }[];
}

const noFaults = (): Required<Faults> => ({
  latencyMs: 0,
  failNext: 0,
  badRequestNext: 0,
  dropResponseNext: 0,
  refuseCustomerIds: [],
  refuseOrderIds: [],
  failOrderIds: [],
});

export function createFakeProviderApp<L>(
  name: string,
  newLedger: () => L,
): { app: FastifyInstance; state: FakeProviderState<L> } {
  const app = Fastify({ logger: false });
  const state: FakeProviderState<L> = {
    ledger: newLedger(),
    faults: noFaults(),
    answers: new Map(),
    calls: [],
  };

  app.get('/_control/ledger', async () => ({
    provider: name,
    ledger: state.ledger,
    calls: state.calls.length,
  }));
  app.post('/_control/faults', async (req, reply) => {
    const parsed = faultsSchema.safeParse(req.body ?? {});
    if (!parsed.success)
      return reply.code(400).send({ error: 'invalid_faults', issues: parsed.error.issues });
    Object.assign(state.faults, parsed.data);
    return state.faults;
  });
  app.post('/_control/reset', async () => {
    state.ledger = newLedger();
    state.faults = noFaults();
    state.answers.clear();
    state.calls.length = 0;
    return { ok: true };
  });
  app.get('/healthz', async () => ({ ok: true }));
  return { app, state };
}

export function isRefused(
  state: FakeProviderState<unknown>,
  ids: { customerId?: string; orderId?: string },
): boolean {
  return (
    (ids.customerId !== undefined && state.faults.refuseCustomerIds.includes(ids.customerId)) ||
    (ids.orderId !== undefined && state.faults.refuseOrderIds.includes(ids.orderId))
  );
}

/**
 * Runs one idempotent operation: a repeated key gets the first answer back (409 if the body differs),
 * faults apply, and `work` runs at most once per key.
 */
export async function idempotent<L>(
  state: FakeProviderState<L>,
  route: string,
  req: FastifyRequest,
  reply: FastifyReply,
  work: (idempotencyKey: string) => { status: number; body: unknown },
): Promise<unknown> {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string' || key.length === 0) {
    return reply.code(400).send({ error: 'idempotency_key_required' });
  }
  if (state.faults.latencyMs > 0) await delay(state.faults.latencyMs);
  if (state.faults.failNext > 0) {
    state.faults.failNext--;
    return reply.code(503).send({ error: 'temporarily_unavailable' });
  }
  if (state.faults.badRequestNext > 0) {
    state.faults.badRequestNext--;
    return reply
      .code(400)
      .send({ error: 'invalid_request', message: 'refused by fault injection' });
  }
  const fingerprint = `${route} ${JSON.stringify(req.body ?? {})}`;
  const scopedKey = `${route} ${key}`;
  let answer = state.answers.get(scopedKey);
  const replayed = answer !== undefined;
  if (answer && answer.fingerprint !== fingerprint) {
    return reply.code(409).send({ error: 'idempotency_key_reused_with_different_request' });
  }
  if (!answer) {
    const done = work(key);
    answer = { ...done, fingerprint };
    state.answers.set(scopedKey, answer);
  }
  state.calls.push({ route, idempotencyKey: key, replayed });
  if (state.faults.dropResponseNext > 0) {
    state.faults.dropResponseNext--;
    req.raw.socket.destroy();
    return reply.hijack();
  }
  return reply.code(answer.status).send(answer.body);
}
