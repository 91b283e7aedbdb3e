import { startRelay } from '../src/runtime/components';
import { runMain } from '../src/runtime/main';

runMain('outbox-relay', startRelay);
