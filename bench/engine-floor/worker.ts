import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { temporalConnectionOptions, temporalDataConverter } from '../../src/temporal/connection';
import { floorActivities } from './activities';

export const FLOOR_TASK_QUEUE = 'engine-floor';

/**
 * The floor's worker, a process of its own so that its CPU is counted apart from the load's: Shipshape's
 * worker settings (task slots, payload encryption), the floor's workflows and activities.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    // The same failure converter as the data converter's (payload encryption), as in Shipshape's bundle.
    failureConverterPath: require.resolve('../../src/temporal/failure-converter'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const worker = await Worker.create({
    connection,
    dataConverter: temporalDataConverter(config),
    namespace: config.temporal.namespace,
    taskQueue: FLOOR_TASK_QUEUE,
    workflowBundle: { code },
    activities: floorActivities,
    maxConcurrentActivityTaskExecutions: config.worker.activitySlots,
    maxConcurrentWorkflowTaskExecutions: config.worker.workflowTaskSlots,
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
