import { ConfigError, loadConfig } from '../platform/config';
import type { Config } from '../platform/config';
import { createLogger } from '../platform/logger';
import type { Logger } from '../platform/logger';
import type { Component } from './components';
import { checkInfrastructure } from './setup';
import { PROCESS_IDENTITIES } from '../platform/security/local-secrets';
import type { ProcessIdentity } from '../platform/security/local-secrets';
import { initTracing } from '../platform/telemetry/tracing';

/**
 * The shape of every process entry point: load config, check that setup was done (migrations, streams), start,
 * stop cleanly on SIGINT/SIGTERM, and exit non-zero on any failure.
 * Tells a parent started with an IPC channel (`shipshape run`) when it is ready.
 */
export function runMain(
  name: string,
  start: (config: Config, log: Logger) => Promise<Component>,
  opts: { infrastructure?: boolean } = {},
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
    // Setup (migrations, streams) is a step of its own, with admin rights; a process only checks it was done.
    if (opts.infrastructure !== false && PROCESS_IDENTITIES.includes(name as ProcessIdentity))
      await checkInfrastructure(config, name as ProcessIdentity);
    component = await start(config, log);
    process.send?.({ ready: name });
    log.info('ready');
  })().catch((err: unknown) => {
    log.fatal({ err }, 'failed to start');
    process.exit(1);
  });
}
