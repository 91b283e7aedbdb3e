import { startService } from '../src/processes/service';
import { runProcess } from '../src/processes/run-process';

runProcess('inventory', (config, log) => startService(config, 'inventory', log));
