import { startApi } from '../src/processes/components';
import { runMain } from '../src/processes/run-process';

runMain('api', startApi);
