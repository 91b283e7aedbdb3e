import { jetstream } from '@nats-io/jetstream';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { LogLevel } from '@temporalio/worker';
import type { Config } from '../platform/config';
import { buildApi } from '../orders/api/server';
import { serverApiKeys } from '../orders/api/credentials';
import {
  createRegistry,
  consumerMetrics,
  laneGauge,
  serveMetrics,
} from '../platform/metrics/registry';
import { registerBacklogGauges } from '../platform/metrics/backlog-gauges';
import { jetstreamManager } from '@nats-io/jetstream';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { createPool } from '../platform/db/pool';
import type { ServiceName } from '../domain/types';
import type { Logger } from '../platform/logger';
import { connectNats } from '../platform/messaging/connection';
import { OrderService } from '../orders/order-service';
import { CarrierClient } from '../services/shipping/carrier-client';
import { createFakeCarrier } from '../services/shipping/fake-carrier';
import { createFakePaymentProvider } from '../services/payment/fake-payment';
import { PaymentProviderClient } from '../services/payment/payment-client';
import { RateLimiter } from '../services/core/rate-limiter';
import { startCommandConsumer } from '../services/core/command-consumer';
import type { ServiceDefinition } from '../services/core/handler';
import { inventoryService } from '../services/inventory/service';
import { loyaltyService } from '../services/loyalty/service';
import { paymentService } from '../services/payment/service';
import { shippingService } from '../services/shipping/service';
import { connectTemporalClient } from '../platform/temporal/client';
import { createActivities } from '../../activities';
import { startReplyBridge } from '../replies/reply-bridge';
import { startDeadLetterWatcher } from '../replies/dead-letter-watcher';
import { startOutboxRelay } from '../services/core/outbox-relay';
import { workflowBundlePath } from '../platform/temporal/bundle';
import { temporalConnectionOptions, temporalDataConverter } from '../platform/temporal/connection';
import { startReconciler } from '../reconciler/reconciler';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import { initTracing } from '../platform/telemetry/tracing';

/** A started part of the app; `stop` awaits every close. */
export interface Component {
  stop(): Promise<void>;
}

export async function startApi(config: Config, log: Logger): Promise<Component & { port: number }> {
  // First: without keys the API must not start, and nothing should be connected by then.
  const keys = serverApiKeys(config);
  const pool = createPool(config, 'api', { max: 20 });
  const temporal = await connectTemporalClient(config);
  const nc = await connectNats(config, 'api');
  const registry = createRegistry('api');
  registerBacklogGauges(registry, {
    jsm: await jetstreamManager(nc),
    temporal,
    pool,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
  });
  // The API answers once an order is committed; its workflow is started right after, here.
  const orders = new OrderService(temporal, pool, config, { deferStarts: log });
  const starter = orders.starter!;
  void starter.sweep();
  new Gauge({
    name: 'shipshape_workflow_starts_pending',
    help: 'Accepted orders whose workflow this API process has still to start',
    registers: [registry],
    collect() {
      this.set(starter.pending);
    },
  });
  const app = buildApi({
    orders,
    pool,
    registry,
    log,
    auth: { keys, ratePerMin: config.api.ratePerMin },
  });
  await app.listen({ port: config.api.port, host: config.api.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.api.port;
  log.info({ port }, 'API listening');
  return {
    port,
    async stop() {
      await app.close();
      await starter.stop();
      await nc.drain();
      await temporal.connection.close();
      await pool.end();
    },
  };
}

async function maybeServeMetrics(config: Config, registry: Registry) {
  return config.metricsPort
    ? serveMetrics(registry, config.metricsPort, config.api.host)
    : undefined;
}

export function serviceDefinition(config: Config, name: ServiceName): ServiceDefinition {
  switch (name) {
    case 'inventory':
      return inventoryService;
    case 'loyalty':
      return loyaltyService;
    case 'payment':
      return paymentService(
        new PaymentProviderClient(
          config.providers.paymentUrl,
          config.providers.timeoutMs,
          new RateLimiter(config.providers.paymentRatePerSec),
        ),
      );
    case 'shipping':
      return shippingService(
        new CarrierClient(
          config.providers.carrierUrl,
          config.providers.timeoutMs,
          new RateLimiter(config.providers.carrierRatePerSec),
        ),
      );
  }
}

export async function startService(
  config: Config,
  name: ServiceName,
  log: Logger,
): Promise<Component> {
  const pool = createPool(config, name, { max: config.lanes + 2 });
  const nc = await connectNats(config, name);
  const registry = createRegistry(name);
  const consumer = await startCommandConsumer({
    nc,
    pool,
    service: serviceDefinition(config, name),
    log,
    lanes: config.lanes,
    maxDeliver: config.messaging.maxDeliver,
    metrics: consumerMetrics(registry),
  });
  laneGauge(registry, name, () => consumer.lanes);
  const metrics = await maybeServeMetrics(config, registry);
  log.info({ service: name, lanes: config.lanes }, 'service consuming commands');
  return {
    async stop() {
      await metrics?.close();
      await consumer.stop();
      await nc.drain();
      await pool.end();
    },
  };
}

let runtimeInstalled = false;

/** Sends the SDK's own log lines through our logger, at our level (once per process). */
export function installRuntime(log: Logger, level: string): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdkLevel: LogLevel =
    ({ trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN' } as const)[level as 'info'] ??
    'ERROR';
  Runtime.install({
    // The process's own stop (runMain) handles signals: the SDK's handler would start draining first,
    // and our shutdown would then fail on a worker that is no longer running.
    shutdownSignals: [],
    logger: new DefaultLogger(sdkLevel, (entry) => {
      const method =
        entry.level === 'TRACE'
          ? 'trace'
          : (entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
      log[method]({ sdk: entry.meta }, entry.message);
    }),
  });
}

export async function startTemporalWorker(config: Config, log: Logger): Promise<Component> {
  installRuntime(log, config.logLevel);
  const tracing = initTracing('temporal-worker', { endpoint: config.otlpEndpoint });
  const pool = createPool(config, 'temporal-worker', { max: 10 });
  const nc = await connectNats(config, 'temporal-worker');
  // Made before connecting: without a payload key the worker refuses to start.
  const dataConverter = temporalDataConverter(config);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const worker = await Worker.create({
    connection,
    dataConverter,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    // With no span destination, workflows and activities carry no tracing code: it would be all cost.
    workflowBundle: { codePath: await workflowBundlePath(tracing.enabled) },
    ...(tracing.enabled
      ? {
          interceptors: {
            activity: [
              (ctx) => ({
                inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
                outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
              }),
            ],
          },
          sinks: { exporter: makeWorkflowExporter(tracing.processor, tracing.resource) },
        }
      : {}),
    maxConcurrentActivityTaskExecutions: config.worker.activitySlots,
    maxConcurrentWorkflowTaskExecutions: config.worker.workflowTaskSlots,
    activities: createActivities({ js: jetstream(nc), pool }),
  });
  const running = worker.run();
  const metrics = await maybeServeMetrics(config, createRegistry('temporal-worker'));
  log.info({ taskQueue: config.temporal.taskQueue }, 'Temporal worker polling');
  return {
    async stop() {
      await metrics?.close();
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
      await nc.drain();
      await pool.end();
    },
  };
}

/** The reply bridge, and the dead-letter watcher that also tells workflows what will never answer. */
export async function startBridge(config: Config, log: Logger): Promise<Component> {
  const temporal = await connectTemporalClient(config);
  const nc = await connectNats(config, 'reply-bridge');
  const pool = createPool(config, 'reply-bridge', { max: 2 });
  const bridge = await startReplyBridge({ nc, temporal, log, lanes: config.lanes });
  const deadLetters = await startDeadLetterWatcher({ nc, pool, temporal, log });
  const registry = createRegistry('reply-bridge');
  laneGauge(registry, 'reply-bridge', () => bridge.lanes);
  const metrics = await maybeServeMetrics(config, registry);
  log.info('reply bridge consuming replies; dead-letter watcher consuming advisories');
  return {
    async stop() {
      await metrics?.close();
      await bridge.stop();
      await deadLetters.stop();
      await nc.drain();
      await temporal.connection.close();
      await pool.end();
    },
  };
}

export async function startRelay(config: Config, log: Logger): Promise<Component> {
  const pool = createPool(config, 'outbox-relay', { max: 2 });
  const nc = await connectNats(config, 'outbox-relay');
  const metrics = await maybeServeMetrics(config, createRegistry('outbox-relay'));
  const relay = startOutboxRelay({
    pool,
    js: jetstream(nc),
    log,
    intervalMs: config.relay.intervalMs,
    graceMs: config.relay.graceMs,
  });
  return {
    async stop() {
      await metrics?.close();
      await relay.stop();
      await nc.drain();
      await pool.end();
    },
  };
}

/** The fake payment provider and carrier, on the ports their URLs name. */
export async function startFakeProviders(config: Config, log: Logger): Promise<Component> {
  const payment = createFakePaymentProvider();
  const carrier = createFakeCarrier();
  const portOf = (url: string) => Number(new URL(url).port);
  await payment.app.listen({ port: portOf(config.providers.paymentUrl), host: config.api.host });
  await carrier.app.listen({ port: portOf(config.providers.carrierUrl), host: config.api.host });
  log.info(
    { payment: config.providers.paymentUrl, carrier: config.providers.carrierUrl },
    'fake providers listening',
  );
  return {
    async stop() {
      await payment.app.close();
      await carrier.app.close();
    },
  };
}

/** The reconciler: un-sticks orders that made no progress and compensates effects no workflow accounts for. */
export async function startReconcilerComponent(config: Config, log: Logger): Promise<Component> {
  const pool = createPool(config, 'reconciler', { max: 3 });
  const nc = await connectNats(config, 'reconciler');
  const temporal = await connectTemporalClient(config);
  const reconciler = startReconciler(
    {
      temporal,
      pool,
      js: jetstream(nc),
      orders: new OrderService(temporal, pool, config),
      namespace: config.temporal.namespace,
      log,
    },
    config.reconciler,
  );
  const metrics = await maybeServeMetrics(config, createRegistry('reconciler'));
  log.info(config.reconciler, 'reconciler running');
  return {
    async stop() {
      await metrics?.close();
      await reconciler.stop();
      await nc.drain();
      await temporal.connection.close();
      await pool.end();
    },
  };
}
