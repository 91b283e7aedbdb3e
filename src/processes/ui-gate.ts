import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { serverApiKeys } from '../platform/security/credentials';
import { buildUiGate } from '../platform/temporal/ui-gate';
import { Resources } from './resources';
import type { Component } from './resources';

/** The gate in front of the Temporal UI server, with this deployment's API keys, on `uiGate.port`. */
export async function startUiGate(
  config: Config,
  log: Logger,
): Promise<Component & { port: number }> {
  return Resources.open(config, async (r) => {
    const server = r.add(
      buildUiGate({ keys: serverApiKeys(config), upstream: config.uiGate.upstream, log }),
      // A browser keeps its connections open: close them, or the server never finishes closing.
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.uiGate.port, config.api.host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.uiGate.port;
    log.info({ port, upstream: config.uiGate.upstream }, 'Temporal UI gate listening');
    return { port };
  });
}
