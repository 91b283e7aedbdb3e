import { startService } from '../src/processes/components';
import { runMain } from '../src/processes/run-process';

runMain('shipping', (config, log) => startService(config, 'shipping', log));
