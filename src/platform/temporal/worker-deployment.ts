import type { WorkflowService } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { waitFor } from '../wait';
import { versionName } from './build-id';
import type { WorkerVersion } from './build-id';

/**
 * What Shipshape asks of Temporal's Worker Deployments (gRPC, as `temporal worker deployment …`
 * does): who claimed a build id, who polls a version, and which version is current.
 */

/** A versioning step refused before it could affect an order; the message says what to do. */
export class WorkerVersioningError extends Error {
  override name = 'WorkerVersioningError';
}

/** The version's metadata entry that names the workflow code its build id stands for. */
export const CODE_HASH_KEY = 'shipshape.workflowCodeHash';

/** A poll this recent means a live worker: an idle worker's long poll is renewed every minute. */
export const LIVE_POLLER_MS = 75_000;

const NOT_FOUND = 5;
const isNotFound = (err: unknown) => (err as { code?: number }).code === NOT_FOUND;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : undefined);

type Info = temporal.api.deployment.v1.IWorkerDeploymentVersionInfo;

/** The version as Temporal knows it; undefined before a worker of it first polled. */
export async function describeVersion(
  service: WorkflowService,
  namespace: string,
  v: Pick<WorkerVersion, 'deploymentName' | 'buildId'>,
): Promise<Info | undefined> {
  try {
    const r = await service.describeWorkerDeploymentVersion({
      namespace,
      deploymentVersion: { deploymentName: v.deploymentName, buildId: v.buildId },
    });
    return r.workerDeploymentVersionInfo ?? undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The code hash recorded for a version, if any. */
export function claimedCodeHash(info: Info | undefined): string | undefined {
  const data = dec(info?.metadata?.entries?.[CODE_HASH_KEY]?.data);
  return data === undefined ? undefined : (JSON.parse(data) as string);
}

/** Refuses a build id that Temporal knows as other workflow code's. */
export function refuseOtherCode(v: WorkerVersion, info: Info | undefined): void {
  const claimed = claimedCodeHash(info);
  if (claimed !== undefined && claimed !== v.codeHash)
    throw new WorkerVersioningError(
      `build id "${v.buildId}" of deployment "${v.deploymentName}" is already taken by other workflow ` +
        `code (hash ${claimed.slice(0, 16)}…; this worker's is ${v.codeHash.slice(0, 16)}…): its orders ` +
        'would replay on code that did not make them. Give this build a SHIPSHAPE_BUILD_ID of its own, ' +
        'or unset it to derive one from the code.',
    );
}

/**
 * Records which code a build id stands for, once the version exists (a worker of it polled), and
 * refuses if another worker recorded other code first.
 */
export async function claimBuildId(
  service: WorkflowService,
  namespace: string,
  v: WorkerVersion,
  identity: string,
): Promise<void> {
  const info = await waitFor(`Temporal to register version ${versionName(v)}`, () =>
    describeVersion(service, namespace, v),
  );
  refuseOtherCode(v, info);
  if (claimedCodeHash(info) === v.codeHash) return;
  await service.updateWorkerDeploymentVersionMetadata({
    namespace,
    deploymentVersion: { deploymentName: v.deploymentName, buildId: v.buildId },
    upsertEntries: {
      [CODE_HASH_KEY]: {
        metadata: { encoding: enc('json/plain') },
        data: enc(JSON.stringify(v.codeHash)),
      },
    },
    identity,
  });
}

/** How many workers of `v` polled the task queue's workflow tasks lately. */
export async function livePollers(
  service: WorkflowService,
  namespace: string,
  taskQueue: string,
  v: Pick<WorkerVersion, 'deploymentName' | 'buildId'>,
): Promise<number> {
  const r = await service.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const since = Date.now() - LIVE_POLLER_MS;
  return (r.pollers ?? []).filter(
    (p) =>
      p.deploymentOptions?.deploymentName === v.deploymentName &&
      p.deploymentOptions?.buildId === v.buildId &&
      Number(p.lastAccessTime?.seconds ?? 0) * 1000 >= since,
  ).length;
}

/** The version the task queue's new workflow tasks go to; undefined: unversioned workers. */
export async function currentVersionOfQueue(
  service: WorkflowService,
  namespace: string,
  taskQueue: string,
): Promise<string | undefined> {
  const r = await service.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const current = r.versioningInfo?.currentDeploymentVersion;
  return current?.buildId
    ? versionName({ deploymentName: current.deploymentName ?? '', buildId: current.buildId })
    : undefined;
}

export interface SetCurrentOptions {
  namespace: string;
  taskQueue: string;
  identity: string;
  /** How long to wait for a worker of the version to poll (0: it must be polling now). */
  waitForPollerMs?: number;
}

/**
 * Makes `v` the deployment's current version: new orders start on it (and runs without a version move
 * to it). Refused while no worker of it polls the task queue, since every new order would then wait.
 * Answers the version that was current before (undefined: none, or `v` itself).
 */
export async function setCurrentVersion(
  service: WorkflowService,
  v: Pick<WorkerVersion, 'deploymentName' | 'buildId'>,
  opts: SetCurrentOptions,
): Promise<string | undefined> {
  const { namespace, taskQueue } = opts;
  try {
    await waitFor(
      `a worker of ${versionName(v)} to poll task queue "${taskQueue}"`,
      async () => (await livePollers(service, namespace, taskQueue, v)) > 0,
      { timeoutMs: opts.waitForPollerMs ?? 0, intervalMs: 250 },
    );
  } catch {
    throw new WorkerVersioningError(
      `no worker of version ${versionName(v)} polls task queue "${taskQueue}" (namespace ` +
        `"${namespace}"): made current, it would take every new order and run none. Start its workers ` +
        '(or check the build id: `shipshape deployment describe` lists the versions) and try again.',
    );
  }
  // Replicas of one version starting together race to set it: a loser finds it set, or tries again.
  for (let attempt = 1; ; attempt += 1) {
    const deployment = await service.describeWorkerDeployment({
      namespace,
      deploymentName: v.deploymentName,
    });
    const current = deployment.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion;
    if (current?.buildId === v.buildId) return undefined;
    try {
      await service.setWorkerDeploymentCurrentVersion({
        namespace,
        deploymentName: v.deploymentName,
        buildId: v.buildId,
        conflictToken: deployment.conflictToken,
        identity: opts.identity,
      });
      return current?.buildId
        ? versionName({ deploymentName: v.deploymentName, buildId: current.buildId })
        : undefined;
    } catch (err) {
      if (isNotFound(err))
        throw new WorkerVersioningError(
          `Temporal knows no version ${versionName(v)}: no worker of it has polled yet`,
        );
      if (attempt >= 3) throw err;
    }
  }
}

/**
 * A worker's own promotion once it polls: its version becomes current the first time, unless a
 * version registered after it already is. A version that was ever current or ramping is left as it
 * is routed now: an old build's worker restarting mid-rollout must not roll the rollout back, nor a
 * new build's worker restarting undo an operator's rollback.
 */
export async function makeCurrentUnlessRouted(
  service: WorkflowService,
  v: WorkerVersion,
  opts: SetCurrentOptions,
): Promise<{ madeCurrent: boolean; current: string | undefined }> {
  const deployment = await service.describeWorkerDeployment({
    namespace: opts.namespace,
    deploymentName: v.deploymentName,
  });
  const info = deployment.workerDeploymentInfo;
  const current = info?.routingConfig?.currentDeploymentVersion?.buildId || undefined;
  const currentName =
    current && versionName({ deploymentName: v.deploymentName, buildId: current });
  const summary = (buildId: string | undefined) =>
    info?.versionSummaries?.find((s) => s.deploymentVersion?.buildId === buildId);
  const created = (buildId: string | undefined) =>
    Number(summary(buildId)?.createTime?.seconds ?? 0);
  const routedBefore = (await describeVersion(service, opts.namespace, v))?.routingChangedTime;
  if (current === v.buildId || routedBefore || (current && created(current) > created(v.buildId)))
    return { madeCurrent: false, current: currentName };
  await setCurrentVersion(service, v, opts);
  return { madeCurrent: true, current: versionName(v) };
}
