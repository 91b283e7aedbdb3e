import { startTemporalWorker } from '../src/processes/components';
import { runMain } from '../src/processes/run-process';

runMain('temporal-worker', startTemporalWorker);
