import { ConfigError, loadConfig } from '../platform/config';
import type { Config } from '../platform/config';
import { createLogger } from '../platform/logger';
import type { Logger } from '../platform/logger';
import type { Component } from './resources';
import { checkInfrastructure } from './setup';
import { initTracing } from '../platform/telemetry/tracing';
import { isProcessIdentity } from './table';
import type { ProcessName } from './table';

/**
 * The shape of every process entry point (workers/<name>.ts): load config, check that setup was done
 * (migrations, streams) where the process has an identity of its own, start, stop cleanly on
 * SIGINT/SIGTERM, and exit non-zero on any failure. Tells a parent started with an IPC channel
 * (`shipshape run`) when it is ready.
 */
export function runProcess(
  name: ProcessName,
  start: (config: Config, log: Logger) => Promise<Component>,
): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
    process.exit(err instanceof ConfigError ? 2 : 1);
  }
  const log = createLogger(name, config.logLevel);
  const tracing = initTracing(name, { endpoint: config.otlpEndpoint });
  let component: Component | undefined;
  let stopping = false;

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    try {
      await component?.stop();
      await tracing.shutdown();
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'failed to stop cleanly');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // A parent that dies must not leave us orphaned.
  process.on('disconnect', () => void stop('parent gone'));

  (async () => {
    // Setup (migrations, streams) is a step of its own, with admin rights; a process only checks it was
    // done. The codec server and the fake providers use none of our streams or tables.
    if (isProcessIdentity(name)) await checkInfrastructure(config, name);
    component = await start(config, log);
    process.send?.({ ready: name });
    log.info('ready');
  })().catch((err: unknown) => {
    log.fatal({ err }, 'failed to start');
    process.exit(1);
  });
}
