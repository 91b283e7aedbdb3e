import { startFakeProviders } from '../src/runtime/components';
import { runMain } from '../src/runtime/main';

// The providers stand for outside companies: they need none of our streams or tables.
runMain('fake-providers', startFakeProviders, { infrastructure: false });
