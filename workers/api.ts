import { startApi } from '../src/runtime/components';
import { runMain } from '../src/runtime/main';

runMain('api', startApi);
