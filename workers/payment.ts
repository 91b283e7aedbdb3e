import { startService } from '../src/runtime/components';
import { runMain } from '../src/runtime/main';

runMain('payment', (config, log) => startService(config, 'payment', log));
