import { startRelay } from '../src/processes/outbox-relay';
import { runProcess } from '../src/processes/run-process';

runProcess('outbox-relay', startRelay);
