import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../../src/platform/config';
import { bundleWorkflows } from '../../../src/platform/temporal/bundle';
import {
  temporalConnectionOptions,
  temporalDataConverter,
} from '../../../src/platform/temporal/connection';
import { floorActivities } from './activities';
import { REPLIER_SOCKET_ENV, replierLink } from './replier-link';

export const FLOOR_TASK_QUEUE = 'engine-floor';

/**
 * The floor's worker, a process of its own so that its CPU is counted apart from the load's: Shipshape's
 * worker settings (task slots, payload encryption), the floor's workflows and activities. The delivery
 * shapes' activities reach the replier over the socket the bench names in ENGINE_FLOOR_REPLIER_SOCKET.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const code = await bundleWorkflows(require.resolve('./workflows'));
  const connection = await NativeConnection.connect(
    temporalConnectionOptions(config, 'temporal-worker'),
  );
  const worker = await Worker.create({
    connection,
    dataConverter: temporalDataConverter(config),
    namespace: config.temporal.namespace,
    taskQueue: FLOOR_TASK_QUEUE,
    workflowBundle: { code },
    activities: floorActivities(replierLink(process.env[REPLIER_SOCKET_ENV])),
    maxConcurrentActivityTaskExecutions: config.worker.activitySlots,
    maxConcurrentWorkflowTaskExecutions: config.worker.workflowTaskSlots,
    maxCachedWorkflows: config.worker.cachedWorkflows,
  });
  const running = worker.run();
  process.once('SIGTERM', () => worker.shutdown());
  process.send?.({ ready: 'engine-floor-worker' });
  await running;
  await connection.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
