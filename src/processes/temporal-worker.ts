import { jetstream } from '@nats-io/jetstream';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { LogLevel } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { createRegistry } from '../platform/metrics/registry';
import { initTracing } from '../platform/telemetry/tracing';
import { workflowBundlePath } from '../platform/temporal/bundle';
import { versionOfBundle } from '../platform/temporal/build-id';
import { temporalConnectionOptions, temporalDataConverter } from '../platform/temporal/connection';
import { askerOf } from '../services/core/queries';
import { Resources } from './resources';
import type { Component } from './resources';
import { versionBeforePolling, versionOncePolling } from './worker-version';

let runtimeInstalled = false;

/** Sends the SDK's own log lines through our logger, at our level (once per process). */
export function installRuntime(log: Logger, level: string): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdkLevel: LogLevel =
    ({ trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN' } as const)[level as 'info'] ??
    'ERROR';
  Runtime.install({
    // The process's own stop (runProcess) handles signals: the SDK's handler would start draining
    // first, and our shutdown would then fail on a worker that is no longer running.
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

/**
 * The Temporal worker: runs the order workflow and its activities on the task queue. `code.bundlePath`:
 * other workflow code, already bundled (a release drill's second build), run as the version it hashes to.
 */
export async function startTemporalWorker(
  config: Config,
  log: Logger,
  code?: { bundlePath: string },
): Promise<Component> {
  installRuntime(log, config.logLevel);
  const tracing = initTracing('temporal-worker', { endpoint: config.otlpEndpoint });
  return Resources.open(config, async (r) => {
    const pool = r.pool('temporal-worker', { max: 10 });
    const nc = await r.nats('temporal-worker');
    // Made before connecting: without a payload key the worker refuses to start.
    const dataConverter = temporalDataConverter(config, { forWorker: true });
    const connection = r.add(
      await NativeConnection.connect(temporalConnectionOptions(config, 'temporal-worker')),
      (c) => c.close(),
    );
    const { version, options: versioning } = await versionBeforePolling(
      config,
      connection.workflowService,
      code && (async (c) => versionOfBundle(c, code.bundlePath)),
    );
    const worker = await Worker.create({
      connection,
      dataConverter,
      ...versioning,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      // With no span destination, workflows and activities carry no tracing code: it would be all cost.
      workflowBundle: { codePath: code?.bundlePath ?? (await workflowBundlePath(tracing.enabled)) },
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
      // Set, not derived from the heap's limit as the SDK would: a burst's thousands of orders in
      // flight would otherwise all stay in memory at once.
      maxCachedWorkflows: config.worker.cachedWorkflows,
      activities: createActivities({ js: jetstream(nc), pool, ask: askerOf(nc) }),
    });
    const running = worker.run();
    r.add(worker, async (w) => {
      if (w.getState() === 'RUNNING') w.shutdown();
      await running;
    });
    if (version) await versionOncePolling(config, connection.workflowService, version, log);
    await r.metrics(createRegistry('temporal-worker'));
    log.info(
      {
        taskQueue: config.temporal.taskQueue,
        version: version && `${version.deploymentName}.${version.buildId}`,
      },
      'Temporal worker polling',
    );
    return {};
  });
}
