import { startService } from '../src/processes/service';
import { runProcess } from '../src/processes/run-process';

runProcess('loyalty', (config, log) => startService(config, 'loyalty', log));
