import { startFakeProviders } from '../src/processes/components';
import { runMain } from '../src/processes/run-process';

// The providers stand for outside companies: they need none of our streams or tables.
runMain('fake-providers', startFakeProviders, { infrastructure: false });
