import Fastify from 'fastify';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  StorageType,
} from '@nats-io/jetstream';
import type { JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../../src/platform/config';
import type { Pool, PoolClient } from '../../src/platform/db/pool';
import { orderRequestSchema } from '../../src/domain/schemas';
import { SERVICES } from '../../src/domain/types';
import type { OrderRequest, ReplyEnvelope, ServiceName } from '../../src/domain/types';
import { createLogger } from '../../src/platform/logger';
import { connectNats } from '../../src/platform/messaging/connection';
import { consumeByOrder, redeliveryDelayMs } from '../../src/platform/messaging/keyed-consumer';
import { insertAcceptedOrder, loadOrderRequest } from '../../src/orders/order-store';
import { orderTotalCents } from '../../src/domain/orders';
import { serviceDefinition } from '../../src/processes/service';
import { processCommand } from '../../src/services/core/command-processor';
import {
  baselineConfig,
  baselinePool,
  baselinePort,
  commandFor,
  finalSteps,
  runBaselineProcess,
} from './baseline-support';

/**
 * The plain outbox choreography (the source's own recipe), without Temporal:
 * POST /orders writes the order and an "accepted" outbox row in one transaction and answers 202 → a
 * relay publishes unsent outbox rows to JetStream with Nats-Msg-Id = the row's id and marks them sent →
 * each service consumes the event that concerns it, handles its step with Shipshape's own code
 * (processCommand: effect + consumed-messages row + its outbox row, one transaction) → the relay
 * publishes that outbox row as the event the next service waits for. inventory.commit's event
 * completes the order. A refused step fails the order; the benchmark's orders are never refused, so
 * the compensating events are left out to keep this short.
 *
 * Run as `node dist/tooling/bench/outbox-choreography.js <api|relay|inventory|payment|loyalty|shipping>`.
 */

export const OUTBOX_ROLES = ['api', 'relay', ...SERVICES] as const;
const PREFIX = 'ob';
export const OUTBOX_STREAM = 'BENCH_EVENTS';
const STREAM = OUTBOX_STREAM;
const CHANNEL = 'bench_outbox';
const ACCEPTED = 'bench.order.accepted';
const eventSubject = (replySubject: string) => replySubject.replace(/^reply\./, 'bench.evt.');

/** Which event starts which step (the index into FORWARD_STEPS), per consuming service. */
const TRIGGERS: Record<ServiceName | 'orders', Record<string, number>> = {
  inventory: { [ACCEPTED]: 0, 'bench.evt.shipping.create': 4 },
  payment: { 'bench.evt.inventory.reserve': 1 },
  loyalty: { 'bench.evt.payment.charge': 2 },
  shipping: { 'bench.evt.loyalty.award': 3 },
  orders: { 'bench.evt.inventory.commit': 5 },
};

interface Accepted {
  orderId: string;
  commandId: string;
  order: OrderRequest;
}
type BenchEvent = Accepted | ReplyEnvelope;

/** The stream, its consumers and the accepted-orders outbox table. Run once by the benchmark. */
export async function ensureOutboxTopology(config: Config, nc: NatsConnection, pool: Pool) {
  const jsm = await jetstreamManager(nc);
  const stream = {
    name: STREAM,
    subjects: ['bench.>'],
    storage: StorageType.File,
    duplicate_window: nanos(config.messaging.duplicateWindowMs),
  };
  await jsm.streams.add(stream).catch(() => jsm.streams.update(STREAM, stream));
  for (const [who, triggers] of Object.entries(TRIGGERS)) {
    const consumer = {
      durable_name: `bench-${who}`,
      filter_subjects: Object.keys(triggers),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      ack_wait: nanos(config.messaging.ackWaitMs),
      max_deliver: config.messaging.maxDeliver,
      max_ack_pending: 512,
    };
    await jsm.consumers
      .add(STREAM, consumer)
      .catch(() => jsm.consumers.update(STREAM, consumer.durable_name, consumer));
  }
  await pool.query(`CREATE SCHEMA IF NOT EXISTS bench;
    CREATE TABLE IF NOT EXISTS bench.outbox (
      id text PRIMARY KEY, subject text NOT NULL, payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);
    CREATE INDEX IF NOT EXISTS outbox_unsent ON bench.outbox (created_at) WHERE published_at IS NULL`);
}

/** Every outbox the relay drains: the accepted orders, and each service's replies of this design. */
const OUTBOXES = [
  { table: 'bench.outbox', id: 'id', mine: 'true' },
  ...SERVICES.map((s) => ({
    table: `${s}.outbox`,
    id: 'reply_id',
    mine: `command_id LIKE '${PREFIX}-%'`,
  })),
];

async function relay(config: Config, pool: Pool, nc: NatsConnection) {
  const js = jetstream(nc);
  const listener = await pool.connect();
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const drain = async (): Promise<void> => {
    do {
      again = false;
      for (const o of OUTBOXES) {
        const { rows } = await pool.query<{ id: string; subject: string; payload: unknown }>(
          `SELECT ${o.id} AS id, subject, payload FROM ${o.table}
           WHERE published_at IS NULL AND ${o.mine} ORDER BY created_at LIMIT 500`,
        );
        if (!rows.length) continue;
        // The whole batch in flight at once; each message keeps its own Nats-Msg-Id, so a re-run after a crash is dropped.
        await Promise.all(
          rows.map((r) =>
            js.publish(eventSubject(r.subject), JSON.stringify(r.payload), { msgID: r.id }),
          ),
        );
        await pool.query(
          `UPDATE ${o.table} SET published_at = now() WHERE ${o.id} = ANY($1::text[])`,
          [rows.map((r) => r.id)],
        );
        if (rows.length === 500) again = true;
      }
    } while (again && !stopped);
  };
  const kick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .catch((err: unknown) => {
        process.stderr.write(`relay: ${String(err)}\n`);
      })
      .finally(() => {
        running = undefined;
      });
  };
  listener.on('notification', kick);
  await listener.query(`LISTEN ${CHANNEL}`);
  // Notifications only wake the relay early; the poll is what guarantees nothing stays behind.
  const timer = setInterval(kick, 200);
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
    listener.release();
  };
}

async function consumeTriggers(
  config: Config,
  pool: Pool,
  nc: NatsConnection,
  who: ServiceName | 'orders',
) {
  const service = who === 'orders' ? undefined : serviceDefinition(config, who);
  const triggers = TRIGGERS[who];
  const log = createLogger(`bench-outbox-${who}`, 'warn');
  const handle = async (m: JsMsg, evt: BenchEvent) => {
    try {
      const index = triggers[m.subject];
      if (index === undefined) return m.term('not a trigger of this consumer');
      if ('outcome' in evt && evt.outcome !== 'succeeded') {
        await pool.query(
          `UPDATE app.orders SET status = 'FAILED', failure_reason = $2, updated_at = now() WHERE order_id = $1`,
          [evt.orderId, `${evt.type}: ${evt.error?.code ?? 'rejected'}`],
        );
      } else if (!service) {
        await pool.query(
          `UPDATE app.orders SET status = 'COMPLETED', steps = $2, updated_at = now() WHERE order_id = $1`,
          [evt.orderId, JSON.stringify(finalSteps('COMPLETED'))],
        );
      } else {
        const order = 'order' in evt ? evt.order : await loadOrderRequest(pool, evt.orderId);
        if (!order) throw new Error(`order ${evt.orderId} is not in app.orders`);
        await processCommand(pool, service, commandFor(PREFIX, order, index));
        await pool.query(`NOTIFY ${CHANNEL}`);
      }
      await m.ackAck();
    } catch (err) {
      log.warn({ err }, 'event failed; will be redelivered');
      m.nak(redeliveryDelayMs(m.info.deliveryCount));
    }
  };
  const consumer = await consumeByOrder<BenchEvent>({
    nc,
    stream: STREAM,
    consumer: `bench-${who}`,
    log,
    lanes: config.lanes,
    verb: 'handle',
    // Its subjects name the step that triggers, not the event's type.
    typedSubjects: false,
    parse: (raw) => {
      const e = raw as BenchEvent;
      if (typeof e?.orderId !== 'string' || typeof e?.commandId !== 'string')
        throw new Error('not an event');
      return e;
    },
    handle,
  });
  return () => consumer.stop();
}

async function serve(role: string): Promise<() => Promise<void>> {
  const config = baselineConfig();
  const nc = await connectNats(config, 'admin', `bench-outbox-${role}`);
  const stops: (() => Promise<void>)[] = [];
  let pool: Pool;
  if (role === 'api') {
    pool = baselinePool(config, 20, 'outbox-api');
    const app = Fastify({ logger: false });
    app.post('/orders', async (req, reply) => {
      const parsed = orderRequestSchema.safeParse(req.body);
      if (!parsed.success || !parsed.data.orderId)
        return reply.code(400).send({ error: 'invalid_order' });
      const order = parsed.data as OrderRequest;
      const tx: PoolClient = await pool.connect();
      try {
        await tx.query('BEGIN');
        await insertAcceptedOrder(
          tx as unknown as Pool,
          order,
          `${PREFIX}-${order.orderId}`,
          orderTotalCents(order),
          undefined,
        );
        const evt: Accepted = {
          orderId: order.orderId,
          commandId: `${PREFIX}-${order.orderId}:accepted`,
          order,
        };
        await tx.query(`INSERT INTO bench.outbox (id, subject, payload) VALUES ($1, $2, $3)`, [
          evt.commandId,
          ACCEPTED,
          JSON.stringify(evt),
        ]);
        await tx.query(`NOTIFY ${CHANNEL}`);
        await tx.query('COMMIT');
      } catch (err) {
        await tx.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        tx.release();
      }
      return reply.code(202).send({ orderId: order.orderId, status: 'PENDING' });
    });
    await app.listen({ host: '127.0.0.1', port: baselinePort(config, role, OUTBOX_ROLES) });
    stops.push(() => app.close());
    stops.push(await consumeTriggers(config, pool, nc, 'orders'));
  } else if (role === 'relay') {
    pool = baselinePool(config, 3, 'outbox-relay');
    stops.push(await relay(config, pool, nc));
  } else if ((SERVICES as readonly string[]).includes(role)) {
    pool = baselinePool(config, config.lanes + 2, `outbox-${role}`);
    stops.push(await consumeTriggers(config, pool, nc, role as ServiceName));
  } else {
    throw new Error(`unknown role "${role}"; one of ${OUTBOX_ROLES.join(', ')}`);
  }
  return async () => {
    for (const s of stops) await s();
    await nc.drain();
    await pool.end();
  };
}

if (require.main === module) runBaselineProcess('outbox-choreography', serve);
