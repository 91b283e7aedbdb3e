import { loadConfig } from '../../src/platform/config';
import type { Config } from '../../src/platform/config';
import { prepareInfrastructure } from '../../src/processes/setup';
import { discardTemporalData, stackUp } from '../stack/stack';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * The bench stack (SHIPSHAPE_STACK_DIR, default .shipshape-bench; SHIPSHAPE_PORT_OFFSET, default 2150)
 * up and set up, its Temporal dev server restarted on an empty database.
 */
export async function benchStackUp(progress: (line: string) => void): Promise<Config> {
  process.env.SHIPSHAPE_STACK_DIR ??= '.shipshape-bench';
  process.env.SHIPSHAPE_PORT_OFFSET ??= '2150';
  process.env.LOG_LEVEL ??= 'warn';
  const config = loadConfig();
  // Closed workflows of earlier runs stay in the dev server's SQLite file (320 MB after four bursts):
  // every run starts on an empty Temporal database, so its figures do not depend on the runs before.
  await discardTemporalData(config, (l) =>
    progress(`bench stack: ${l}; its database is discarded`),
  );
  progress(`bench stack in ${config.stack.dir}: starting what is not running`);
  // stackUp is idempotent; on a loaded machine its "does it answer" checks can time out, so try again.
  for (let attempt = 1; ; attempt++) {
    try {
      await stackUp(config, (l) => progress(l));
      break;
    } catch (err) {
      if (attempt === 3) throw err;
      progress(`stack not ready (${(err as Error).message.split('\n')[0]}); trying again`);
      await delay(3000);
    }
  }
  await prepareInfrastructure(config, (l) => progress(l));
  return config;
}
