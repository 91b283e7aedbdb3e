import type { WorkflowService } from '@temporalio/client';

/**
 * Deletes the Worker Deployments that earlier runs of a test left (names starting with `prefix`), once
 * their workers are long gone: Temporal keeps at most 100 deployments in a namespace. Best effort: a
 * deployment that cannot go yet goes on a later run.
 */
export async function forgetEarlierDeployments(
  service: WorkflowService,
  namespace: string,
  prefix: string,
  olderThanMs = 15 * 60_000,
): Promise<void> {
  const identity = 'shipshape-test';
  const { workerDeployments } = await service.listWorkerDeployments({ namespace, pageSize: 1000 });
  for (const d of workerDeployments ?? []) {
    const created = Number(d.createTime?.seconds ?? 0) * 1000;
    if (!d.name?.startsWith(prefix) || created > Date.now() - olderThanMs) continue;
    const deploymentName = d.name;
    try {
      // No version may be current while it is deleted: route the queues back to unversioned workers.
      await service.setWorkerDeploymentCurrentVersion({
        namespace,
        deploymentName,
        buildId: '',
        identity,
      });
      await service.setWorkerDeploymentRampingVersion({
        namespace,
        deploymentName,
        buildId: '',
        identity,
      });
      const info = (await service.describeWorkerDeployment({ namespace, deploymentName }))
        .workerDeploymentInfo;
      for (const v of info?.versionSummaries ?? [])
        await service.deleteWorkerDeploymentVersion({
          namespace,
          deploymentVersion: v.deploymentVersion,
          skipDrainage: true,
          identity,
        });
      await service.deleteWorkerDeployment({ namespace, deploymentName, identity });
    } catch {
      // Still polled, or already going: a later run deletes it.
    }
  }
}
