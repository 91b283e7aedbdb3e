import { startService } from '../src/runtime/components';
import { runMain } from '../src/runtime/main';

runMain('inventory', (config, log) => startService(config, 'inventory', log));
