import { startApi } from '../src/processes/api';
import { runProcess } from '../src/processes/run-process';

runProcess('api', startApi);
