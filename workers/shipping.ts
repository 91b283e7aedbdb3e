import { startService } from '../src/runtime/components';
import { runMain } from '../src/runtime/main';

runMain('shipping', (config, log) => startService(config, 'shipping', log));
