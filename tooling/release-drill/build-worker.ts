import { runProcess } from '../../src/processes/run-process';
import { startTemporalWorker } from '../../src/processes/temporal-worker';

/**
 * The release drill's Temporal worker of one build: the product's worker, on the workflow bundle named
 * by the first argument (none: this checkout's own code, build A).
 */
const bundlePath = process.argv[2];
runProcess('temporal-worker', (config, log) =>
  startTemporalWorker(config, log, bundlePath ? { bundlePath } : undefined),
);
