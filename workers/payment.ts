import { startService } from '../src/processes/components';
import { runMain } from '../src/processes/run-process';

runMain('payment', (config, log) => startService(config, 'payment', log));
