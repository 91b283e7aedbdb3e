import { startTemporalWorker } from '../src/runtime/components';
import { runMain } from '../src/runtime/main';

runMain('temporal-worker', startTemporalWorker);
