import { startService } from '../src/processes/service';
import { runProcess } from '../src/processes/run-process';

runProcess('payment', (config, log) => startService(config, 'payment', log));
