import { startFakeProviders } from '../src/processes/fake-providers';
import { runProcess } from '../src/processes/run-process';

runProcess('fake-providers', startFakeProviders);
