import http from 'node:http';
import Fastify from 'fastify';
import { orderRequestSchema } from '../../src/domain/schemas';
import { SERVICES } from '../../src/domain/types';
import type {
  CommandEnvelope,
  OrderRequest,
  ReplyEnvelope,
  ServiceName,
} from '../../src/domain/types';
import { insertAcceptedOrder, recordOrderOutcome } from '../../src/orders/order-store';
import { orderTotalCents } from '../../src/domain/orders';
import { serviceDefinition } from '../../src/processes/service';
import { processCommand } from '../../src/services/core/command-processor';
import { markPublished } from '../../src/services/core/outbox';
import { isTransient } from '../../src/services/core/errors';
import {
  baselineConfig,
  baselinePool,
  baselinePort,
  commandFor,
  compensationFor,
  finalView,
  FORWARD_STEPS,
  runBaselineProcess,
} from './baseline-support';

/**
 * The synchronous chain (the source's pain point 1): POST /orders records the order, then calls the
 * inventory, payment, loyalty and shipping services over HTTP one after another, and answers only when
 * all are done. Each service handles its command with Shipshape's own code (processCommand: one
 * transaction with the effect, the consumed-messages row and the reply), so the work and the
 * durability are the same; only the waiting is different. A refused step compensates the steps done.
 *
 * Run as `node dist/tooling/bench/sync-chain.js <front|inventory|payment|loyalty|shipping>`.
 */

export const SYNC_ROLES = ['front', ...SERVICES] as const;
const PREFIX = 'sync';
/** Transient failures (a provider's 5xx, a deadlock) are retried in place a few times: the synchronous recipe. */
const TRIES = 3;

async function serve(role: string): Promise<() => Promise<void>> {
  const config = baselineConfig();
  const app = Fastify({ logger: false });
  let close: () => Promise<void>;

  if (role === 'front') {
    const pool = baselinePool(config, 20, 'sync-front');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const call = (service: ServiceName, cmd: CommandEnvelope): Promise<ReplyEnvelope> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify(cmd);
        const req = http.request(
          {
            host: '127.0.0.1',
            port: baselinePort(config, service, SYNC_ROLES),
            path: '/commands',
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () =>
              res.statusCode === 200
                ? resolve(JSON.parse(text) as ReplyEnvelope)
                : reject(new Error(`${service} answered ${res.statusCode}: ${text.slice(0, 200)}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const callWithRetry = async (service: ServiceName, cmd: CommandEnvelope) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await call(service, cmd);
        } catch (err) {
          if (attempt >= TRIES) throw err;
        }
      }
    };
    const serviceOf = (cmd: CommandEnvelope) => cmd.type.split('.')[0] as ServiceName;

    app.post('/orders', async (req, reply) => {
      const parsed = orderRequestSchema.safeParse(req.body);
      if (!parsed.success || !parsed.data.orderId)
        return reply.code(400).send({ error: 'invalid_order' });
      const order = parsed.data as OrderRequest;
      await insertAcceptedOrder(
        pool,
        order,
        `${PREFIX}-${order.orderId}`,
        orderTotalCents(order),
        undefined,
      );
      const done: ReplyEnvelope[] = [];
      let failure: string | undefined;
      for (let i = 0; i < FORWARD_STEPS.length && !failure; i++) {
        const cmd = commandFor(PREFIX, order, i);
        const r = await callWithRetry(serviceOf(cmd), cmd).catch((err: Error) => err);
        if (r instanceof Error) failure = `${cmd.type}: ${r.message}`;
        else if (r.outcome !== 'succeeded') failure = `${cmd.type}: ${r.error?.code ?? 'rejected'}`;
        else done.push(r);
      }
      if (failure) {
        let seq = FORWARD_STEPS.length;
        for (const d of done.reverse()) {
          const undo = compensationFor(PREFIX, order, d, ++seq);
          if (undo) await callWithRetry(serviceOf(undo), undo).catch(() => undefined);
        }
      }
      const status = failure ? 'FAILED' : 'COMPLETED';
      await recordOrderOutcome(pool, finalView(PREFIX, order, status, failure));
      return reply.code(200).send({ orderId: order.orderId, status });
    });
    close = async () => {
      agent.destroy();
      await pool.end();
    };
  } else if ((SERVICES as readonly string[]).includes(role)) {
    const name = role as ServiceName;
    // As many connections as a Shipshape service process has (its lanes + 2).
    const pool = baselinePool(config, config.lanes + 2, `sync-${name}`);
    const service = serviceDefinition(config, name);
    app.post('/commands', async (req, reply) => {
      const cmd = req.body as CommandEnvelope;
      try {
        const r = await processCommand(pool, service, cmd);
        // The caller gets the reply in the answer: the outbox row counts as delivered.
        await markPublished(pool, name, r.reply.replyId);
        return reply.code(200).send(r.reply);
      } catch (err) {
        return reply
          .code(isTransient(err) ? 503 : 500)
          .send({ error: (err as Error).message.slice(0, 300) });
      }
    });
    close = () => pool.end();
  } else {
    throw new Error(`unknown role "${role}"; one of ${SYNC_ROLES.join(', ')}`);
  }

  await app.listen({ host: '127.0.0.1', port: baselinePort(config, role, SYNC_ROLES) });
  return async () => {
    await app.close();
    await close();
  };
}

if (require.main === module) runBaselineProcess('sync-chain', serve);
