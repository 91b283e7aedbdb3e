import { startReconcilerComponent } from '../src/runtime/components';
import { runMain } from '../src/runtime/main';

runMain('reconciler', startReconcilerComponent);
