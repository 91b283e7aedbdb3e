import { loadConfig } from '../../src/platform/config';
import type { Config, TemporalMode } from '../../src/platform/config';
import { prepareInfrastructure } from '../../src/processes/setup';
import { discardTemporalData, stackUp } from '../stack/stack';
import type { StackUpOptions } from '../stack/stack';

import { setTimeout as delay } from 'node:timers/promises';

/**
 * The bench stack's port offset when SHIPSHAPE_PORT_OFFSET is unset: clear of every port of the other
 * stacks the project starts (test/unit/stack-ports.test.ts), so a bench stack left up never takes a
 * port the tests need.
 */
export const BENCH_PORT_OFFSET = 3500;

/**
 * The bench stack (SHIPSHAPE_STACK_DIR, default .shipshape-bench; SHIPSHAPE_PORT_OFFSET, default 3500)
 * up and set up, its Temporal restarted on an empty database: as `temporal` says, else as
 * SHIPSHAPE_TEMPORAL says (the dev server by default).
 */
export async function benchStackUp(
  progress: (line: string) => void,
  temporal?: TemporalMode,
  opts: StackUpOptions = {},
): Promise<Config> {
  process.env.SHIPSHAPE_STACK_DIR ??= '.shipshape-bench';
  process.env.SHIPSHAPE_PORT_OFFSET ??= String(BENCH_PORT_OFFSET);
  process.env.LOG_LEVEL ??= 'warn';
  const config = loadConfig();
  config.stack.temporal = temporal ?? config.stack.temporal ?? 'dev';
  // Closed workflows of earlier runs stay in Temporal's database (320 MB of the dev server's SQLite
  // after four bursts): every run starts on an empty one, so its figures do not depend on the runs
  // before. This also stops a Temporal of the other mode.
  await discardTemporalData(config, (l) =>
    progress(`bench stack: ${l}; its database is discarded`),
  );
  progress(`bench stack in ${config.stack.dir}: starting what is not running`);
  // stackUp is idempotent; on a loaded machine its "does it answer" checks can time out, so try again.
  for (let attempt = 1; ; attempt++) {
    try {
      await stackUp(config, (l) => progress(l), opts);
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
