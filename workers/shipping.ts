import { startService } from '../src/processes/service';
import { runProcess } from '../src/processes/run-process';

runProcess('shipping', (config, log) => startService(config, 'shipping', log));
