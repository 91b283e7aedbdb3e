import type { FastifyInstance } from 'fastify';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { initTracing } from '../../src/platform/telemetry/tracing';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../../src/platform/config';
import { createPool } from '../../src/platform/db/pool';
import { createLogger } from '../../src/platform/logger';
import type { OrderDetails } from '../../src/orders/order-service';
import { createFakeCarrier } from '../../src/services/shipping/fake-carrier';
import { createFakePaymentProvider } from '../../src/services/payment/fake-payment';
import type { Component } from '../../src/processes/resources';
import { startApi } from '../../src/processes/api';
import { startRelay } from '../../src/processes/outbox-relay';
import { startBridge } from '../../src/processes/reply-bridge';
import { startService } from '../../src/processes/service';
import { startTemporalWorker } from '../../src/processes/temporal-worker';
import { connectTemporalClient } from '../../src/platform/temporal/client';
import { connectNats } from '../../src/platform/messaging/connection';
import { askerOf } from '../../src/services/core/queries';
import type { AskService } from '../../src/services/core/queries';
import { SERVICES, TERMINAL_STATUSES } from '../../src/domain/types';
import type { OrderStatus, ServiceName } from '../../src/domain/types';
import { waitFor } from '../../src/platform/wait';
import { testConfig, uniqueId } from './env';
import { sampleOrder } from '../../src/client/order-body';
import { ApiClient } from '../../src/client/api-client';
import { callerApiKey } from '../../src/platform/security/credentials';
import { readLocalSecrets } from '../../src/platform/security/local-secrets';

export interface Harness {
  config: Config;
  apiUrl: string;
  /** The key `http()` sends: SHIPSHAPE_CALLER_API_KEY, else the local stack's operator key. */
  apiKey: string | undefined;
  /** The local stack's API keys, for tests of who may do what. */
  apiKeys: { client: string; operator: string } | undefined;
  pool: Pool;
  temporal: Client;
  /** Asks a service about its tables, as the reconciler does (with the reconciler's NATS user). */
  ask: AskService;
  payment: ReturnType<typeof createFakePaymentProvider>;
  carrier: ReturnType<typeof createFakeCarrier>;
  /** Stops one service process's worth (its consumer and pool), as if it went down. */
  stopService(name: ServiceName): Promise<void>;
  /** Starts it again, with these settings over the harness's (a new key, say). */
  startService(name: ServiceName, env?: NodeJS.ProcessEnv): Promise<void>;
  /** The reply bridge (with the dead-letter watcher), stopped and started like a service. */
  stopBridge(): Promise<void>;
  startBridge(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a fake provider on a free port; answers its base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  if (!a || typeof a === 'string') throw new Error('no address');
  return `http://127.0.0.1:${a.port}`;
}

/**
 * The whole app in this process against the real test stack: fake providers on free ports (so the
 * test reads their ledgers directly), the four services, the Temporal worker on its own task queue,
 * the reply bridge, the outbox relay and the API.
 */
export async function startHarness(
  env: NodeJS.ProcessEnv = {},
  opts: { spanProcessor?: SpanProcessor } = {},
): Promise<Harness> {
  if (opts.spanProcessor) initTracing('shipshape-test', { processor: opts.spanProcessor });
  const payment = createFakePaymentProvider();
  const carrier = createFakeCarrier();
  const paymentUrl = await listen(payment.app);
  const carrierUrl = await listen(carrier.app);
  const harnessEnv: NodeJS.ProcessEnv = {
    PAYMENT_PROVIDER_URL: paymentUrl,
    CARRIER_URL: carrierUrl,
    TEMPORAL_TASK_QUEUE: uniqueId('test-orders'),
    SHIPSHAPE_STEP_TIMEOUT_MS: '5000',
    // Each harness has a task queue of its own, and Temporal caps the task queues of one version:
    // versioned workers are tested on their own (worker-versioning.test.ts).
    SHIPSHAPE_WORKER_VERSIONING: 'off',
    ...env,
  };
  const configWith = (extra: NodeJS.ProcessEnv = {}): Config => {
    const base = testConfig({ ...harnessEnv, ...extra });
    return { ...base, api: { ...base.api, port: 0 } };
  };
  const config = configWith();
  const log = createLogger('test', config.logLevel);
  const components: Component[] = [];
  const services = new Map<ServiceName, Component>();
  try {
    for (const s of SERVICES) services.set(s, await startService(config, s, log.child({ svc: s })));
    components.push(await startTemporalWorker(config, log));
    let bridge: Component | undefined = await startBridge(config, log);
    components.push(await startRelay(config, log));
    const api = await startApi(config, log);
    components.push(api);
    const pool = createPool(config, 'migrator', { max: 4, applicationName: 'shipshape-test' });
    const temporal = await connectTemporalClient(config, 'cli');
    const asking = await connectNats(config, 'reconciler', 'test-asks');
    return {
      config,
      apiUrl: `http://127.0.0.1:${api.port}`,
      apiKey: callerApiKey(config),
      apiKeys: readLocalSecrets(config.stack.dir)?.apiKeys,
      pool,
      temporal,
      ask: askerOf(asking),
      payment,
      carrier,
      async stopService(name) {
        await services.get(name)?.stop();
        services.delete(name);
      },
      async startService(name, env) {
        const own = env ? configWith(env) : config;
        if (!services.has(name))
          services.set(name, await startService(own, name, log.child({ svc: name })));
      },
      async stopBridge() {
        await bridge?.stop();
        bridge = undefined;
      },
      async startBridge() {
        bridge ??= await startBridge(config, log);
      },
      async stop() {
        await bridge?.stop();
        for (const c of components.reverse()) await c.stop();
        for (const c of services.values()) await c.stop();
        await temporal.connection.close();
        await asking.close();
        await pool.end();
        await payment.app.close();
        await carrier.app.close();
      },
    };
  } catch (err) {
    for (const c of [...components.reverse(), ...services.values()])
      await c.stop().catch(() => undefined);
    await payment.app.close();
    await carrier.app.close();
    throw err;
  }
}

/** The header that authorises a plain `fetch` of the API (e.g. of /metrics) with `h.apiKey`. */
export function authHeaders(h: { apiKey?: string | undefined }): Record<string, string> {
  return h.apiKey ? { authorization: `Bearer ${h.apiKey}` } : {};
}

/** Calls the API, with `h.apiKey` as a bearer token unless the headers bring their own credential. */
export function http<T = Record<string, unknown>>(
  h: { apiUrl: string; apiKey?: string | undefined },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  return new ApiClient(h.apiUrl, h.apiKey).request<T>(method, path, body, headers);
}

export async function waitForOrder(
  h: { apiUrl: string; apiKey?: string | undefined },
  orderId: string,
  until: (o: OrderDetails) => boolean = (o) => TERMINAL_STATUSES.includes(o.status),
  timeoutMs = 60_000,
): Promise<OrderDetails> {
  return waitFor(
    `order ${orderId} to reach the expected state`,
    async () => {
      const r = await http<OrderDetails>(h, 'GET', `/orders/${orderId}`);
      return r.status === 200 && until(r.body) ? r.body : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

export const hasStatus = (status: OrderStatus) => (o: OrderDetails) => o.status === status;

/** A sample order of one item: `quantity` (2) × `unitPriceCents` (10.50 EUR) of `sku`. */
export function orderBody(opts: {
  orderId?: string;
  customerId: string;
  sku: string;
  quantity?: number;
  unitPriceCents?: number;
}) {
  return sampleOrder({
    ...(opts.orderId ? { orderId: opts.orderId } : {}),
    customerId: opts.customerId,
    items: [
      { sku: opts.sku, quantity: opts.quantity ?? 2, unitPriceCents: opts.unitPriceCents ?? 1_050 },
    ],
  });
}

/**
 * Waits until the orders table records every order as finished, with one query per round: cheap enough
 * for hundreds of orders, where polling each order's workflow would load the worker with queries.
 */
export async function waitForOrdersFinished(
  h: Harness,
  orderIds: string[],
  timeoutMs = 120_000,
): Promise<void> {
  await waitFor(
    `${orderIds.length} orders to finish`,
    async () => {
      const { rows } = await h.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM app.orders WHERE order_id = ANY($1) AND status = ANY($2)`,
        [orderIds, TERMINAL_STATUSES],
      );
      return rows[0]?.n === orderIds.length;
    },
    { timeoutMs, intervalMs: 250 },
  );
}
