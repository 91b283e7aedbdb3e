import type { WorkflowService } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { versionName, workerVersionOf } from '../platform/temporal/build-id';
import { connectTemporal } from '../platform/temporal/connection';
import type { WorkerVersion } from '../platform/temporal/build-id';
import {
  claimBuildId,
  currentVersionOfQueue,
  describeVersion,
  makeCurrentUnlessRouted,
  refuseOtherCode,
  setCurrentVersion,
  WorkerVersioningError,
} from '../platform/temporal/worker-deployment';

const IDENTITY = 'shipshape temporal-worker';

/**
 * The Temporal worker's Worker Deployment Version, checked before it polls: with versioning on, a build
 * id (derived, or the release's) that no other code claimed; with it off, a task queue that no version
 * owns (an unversioned worker there would get no order). Each refusal names what is wrong.
 */
export async function versionBeforePolling(
  config: Config,
  service: WorkflowService,
  versionOf: (config: Config) => Promise<WorkerVersion> = workerVersionOf,
): Promise<{ version?: WorkerVersion; options: Pick<WorkerOptions, 'workerDeploymentOptions'> }> {
  const { namespace, taskQueue, versioning } = config.temporal;
  if (!versioning.enabled) {
    const current = await currentVersionOfQueue(service, namespace, taskQueue);
    if (current)
      throw new WorkerVersioningError(
        `SHIPSHAPE_WORKER_VERSIONING is off, but task queue "${taskQueue}" sends its workflow tasks ` +
          `to version ${current}: this worker would get no order. Turn versioning on, or first route the ` +
          `queue back to unversioned workers (\`temporal worker deployment set-current-version ` +
          `--deployment-name ${current.split('.')[0]} --unversioned\`).`,
      );
    return { options: {} };
  }
  const version = await versionOf(config).catch((err: unknown) => {
    throw new WorkerVersioningError(
      'SHIPSHAPE_WORKER_VERSIONING is on but the worker has no build id: SHIPSHAPE_BUILD_ID is unset ' +
        `and none could be derived, since the workflow code did not bundle (${(err as Error).message}). ` +
        'Build first (npm run build), or set SHIPSHAPE_BUILD_ID.',
      { cause: err },
    );
  });
  if (!version.buildId || !version.deploymentName)
    throw new WorkerVersioningError(
      'SHIPSHAPE_WORKER_VERSIONING is on but the worker has no build id or deployment name',
    );
  refuseOtherCode(version, await describeVersion(service, namespace, version));
  return {
    version,
    options: {
      workerDeploymentOptions: {
        version: { deploymentName: version.deploymentName, buildId: version.buildId },
        useWorkerVersioning: true,
        // Orders and cleanups alike finish on the build they started on (docs/operations.md,
        // "Changing the workflow"). Said here, not in the workflow code: Temporal refuses a behaviour
        // from an unversioned worker, and SHIPSHAPE_WORKER_VERSIONING=off runs the same code.
        defaultVersioningBehavior: 'PINNED',
      },
    },
  };
}

/**
 * Once the worker polls: records the code its build id stands for, and (SHIPSHAPE_MAKE_CURRENT) makes
 * its version current the first time, so new orders start on it.
 */
export async function versionOncePolling(
  config: Config,
  service: WorkflowService,
  version: WorkerVersion,
  log: Logger,
): Promise<void> {
  const { namespace, taskQueue, versioning } = config.temporal;
  await claimBuildId(service, namespace, version, IDENTITY);
  const name = versionName(version);
  if (!versioning.makeCurrent) {
    log.info(
      { version: name },
      'Worker Deployment Version registered; its routing is left to operators',
    );
    return;
  }
  const { madeCurrent, current } = await makeCurrentUnlessRouted(service, version, {
    namespace,
    taskQueue,
    identity: IDENTITY,
    waitForPollerMs: 30_000,
  });
  if (madeCurrent) log.info({ version: name }, 'Worker Deployment Version made current');
  else if (current !== name)
    log.warn(
      { version: name, current },
      'Worker Deployment Version left as routed: another version is current',
    );
}

/**
 * `shipshape run`'s step once its worker polls: this checkout is the app, so its version is made
 * current even if another was (a branch run before, say), and new orders start on it. Answers the
 * version, or undefined with versioning off.
 */
export async function makeThisBuildCurrent(config: Config): Promise<string | undefined> {
  if (!config.temporal.versioning.enabled) return undefined;
  const version = await workerVersionOf(config);
  const connection = await connectTemporal(config, 'cli');
  try {
    await setCurrentVersion(connection.workflowService, version, {
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      identity: 'shipshape run',
      waitForPollerMs: 30_000,
    });
    return versionName(version);
  } finally {
    await connection.close();
  }
}
