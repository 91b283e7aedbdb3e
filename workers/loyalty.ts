import { startService } from '../src/processes/components';
import { runMain } from '../src/processes/run-process';

runMain('loyalty', (config, log) => startService(config, 'loyalty', log));
