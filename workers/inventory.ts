import { startService } from '../src/processes/components';
import { runMain } from '../src/processes/run-process';

runMain('inventory', (config, log) => startService(config, 'inventory', log));
