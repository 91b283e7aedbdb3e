import { startTemporalWorker } from '../src/processes/temporal-worker';
import { runProcess } from '../src/processes/run-process';

runProcess('temporal-worker', startTemporalWorker);
