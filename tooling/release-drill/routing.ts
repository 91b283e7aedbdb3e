import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from '../../src/platform/config';
import { temporalCliFlags } from '../../src/platform/temporal/connection';
import { describeVersion, setCurrentVersion } from '../../src/platform/temporal/worker-deployment';
import { waitFor } from '../../src/platform/wait';
import { workflowIdFor } from '../../workflows/definitions';

/** The Worker Deployment steps of a release, as an operator takes them (the gRPC API of `temporal worker deployment …`). */

const IDENTITY = 'shipshape release-drill';
const run = promisify(execFile);

export interface Routing {
  config: Config;
  temporal: Client;
  /** The Temporal CLI, for the steps the drill shows as an operator's commands. */
  temporalBin: string;
}

const deploymentOf = (r: Routing) => r.config.temporal.versioning.deploymentName;

/** Sends `percent` of new orders to the build (0 < percent < 100); undefined: no build ramps. */
export async function ramp(r: Routing, buildId: string | undefined, percent = 0): Promise<void> {
  const { namespace } = r.config.temporal;
  const deployment = await r.temporal.workflowService.describeWorkerDeployment({
    namespace,
    deploymentName: deploymentOf(r),
  });
  await r.temporal.workflowService.setWorkerDeploymentRampingVersion({
    namespace,
    deploymentName: deploymentOf(r),
    // An empty build id with no percentage takes the ramp away (`--delete`).
    buildId: buildId ?? '',
    percentage: buildId ? percent : 0,
    conflictToken: deployment.conflictToken,
    identity: IDENTITY,
  });
}

/** Makes the build current: every new order starts on it (a ramp to it ends). */
export async function makeCurrent(r: Routing, buildId: string): Promise<void> {
  await setCurrentVersion(
    r.temporal.workflowService,
    { deploymentName: deploymentOf(r), buildId },
    {
      namespace: r.config.temporal.namespace,
      taskQueue: r.config.temporal.taskQueue,
      identity: IDENTITY,
    },
  );
}

const DRAINAGE = temporal.api.enums.v1.VersionDrainageStatus;

/** The version's drainage as Temporal last computed it: DRAINING, DRAINED, or '-' while routed to. */
export async function drainage(r: Routing, buildId: string): Promise<string> {
  const info = await describeVersion(r.temporal.workflowService, r.config.temporal.namespace, {
    deploymentName: deploymentOf(r),
    buildId,
  });
  const status = info?.drainageInfo?.status ?? DRAINAGE.VERSION_DRAINAGE_STATUS_UNSPECIFIED;
  return status === DRAINAGE.VERSION_DRAINAGE_STATUS_UNSPECIFIED
    ? '-'
    : (DRAINAGE[status] ?? String(status)).replace('VERSION_DRAINAGE_STATUS_', '');
}

export interface RunVersion {
  /** The build id the order's run is on (its pinned version); undefined before its first workflow task. */
  buildId?: string;
  closed: boolean;
  /** The build an override moved it to, if any. */
  overriddenTo?: string;
  /** Attempts of its pending workflow task: above 1, its tasks fail. */
  taskAttempt: number;
}

/** Which build an order's run is on, from `describe()`. */
export async function runVersion(r: Routing, orderId: string): Promise<RunVersion> {
  const d = await r.temporal.workflow.getHandle(workflowIdFor(orderId)).describe();
  const v = d.raw.workflowExecutionInfo?.versioningInfo;
  const override = v?.versioningOverride;
  return {
    buildId: v?.deploymentVersion?.buildId || undefined,
    closed: d.status.name !== 'RUNNING',
    overriddenTo:
      override?.pinned?.version?.buildId ||
      override?.pinnedVersion?.split('.').slice(1).join('.') ||
      undefined,
    taskAttempt: d.raw.pendingWorkflowTask?.attempt ?? 0,
  };
}

/**
 * Pins an order's run to another build, as an operator would: `temporal workflow update-options
 * --versioning-override-…`. Answers the command, to print once.
 */
export async function pinTo(r: Routing, orderId: string, buildId: string): Promise<string> {
  const args = [
    'workflow',
    'update-options',
    ...temporalCliFlags(r.config, 'cli'),
    '--workflow-id',
    workflowIdFor(orderId),
    '--versioning-override-behavior',
    'pinned',
    '--versioning-override-deployment-name',
    deploymentOf(r),
    '--versioning-override-build-id',
    buildId,
  ];
  await run(r.temporalBin, args, { timeout: 30_000 });
  return `temporal ${args.join(' ')}`;
}

/**
 * Waits until Temporal knows the build's worker on every task queue (and type) that `like`'s polls:
 * a version that lacks one may not ramp, since that queue's tasks would go to no version.
 */
export async function pollsLike(r: Routing, buildId: string, like: string): Promise<void> {
  const queues = async (b: string) =>
    (
      (
        await describeVersion(r.temporal.workflowService, r.config.temporal.namespace, {
          deploymentName: deploymentOf(r),
          buildId: b,
        })
      )?.taskQueueInfos ?? []
    ).map((q) => `${q.name}/${q.type}`);
  const wanted = await queues(like);
  await waitFor(`build ${buildId} to poll ${wanted.join(', ')}`, async () => {
    const has = await queues(buildId);
    return wanted.every((q) => has.includes(q));
  });
}
