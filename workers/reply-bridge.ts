import { startBridge } from '../src/processes/components';
import { runMain } from '../src/processes/run-process';

runMain('reply-bridge', startBridge);
