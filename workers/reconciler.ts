import { startReconcilerProcess } from '../src/processes/reconciler';
import { runProcess } from '../src/processes/run-process';

runProcess('reconciler', startReconcilerProcess);
