import { startRelay } from '../src/processes/components';
import { runMain } from '../src/processes/run-process';

runMain('outbox-relay', startRelay);
