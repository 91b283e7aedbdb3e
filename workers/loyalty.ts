import { startService } from '../src/runtime/components';
import { runMain } from '../src/runtime/main';

runMain('loyalty', (config, log) => startService(config, 'loyalty', log));
