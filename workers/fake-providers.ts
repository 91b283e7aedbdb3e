import { startFakeProviders } from '../src/runtime/components';
import { runMain } from '../src/runtime/main';

runMain('fake-providers', startFakeProviders);
