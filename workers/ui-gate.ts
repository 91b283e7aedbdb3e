import { runProcess } from '../src/processes/run-process';
import { startUiGate } from '../src/processes/ui-gate';

runProcess('ui-gate', startUiGate);
