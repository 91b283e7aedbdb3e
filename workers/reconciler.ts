import { startReconcilerComponent } from '../src/processes/components';
import { runMain } from '../src/processes/run-process';

runMain('reconciler', startReconcilerComponent);
