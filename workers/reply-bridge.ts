import { startBridge } from '../src/runtime/components';
import { runMain } from '../src/runtime/main';

runMain('reply-bridge', startBridge);
