import { startBridge } from '../src/processes/reply-bridge';
import { runProcess } from '../src/processes/run-process';

runProcess('reply-bridge', startBridge);
