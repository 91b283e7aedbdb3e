import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../config';
import { workflowBundlePath } from './bundle';

/** A Worker Deployment Version, and the hash of the workflow code it stands for. */
export interface WorkerVersion {
  deploymentName: string;
  buildId: string;
  /** sha256 of the workflow bundle (without tracing): what a build id must always mean. */
  codeHash: string;
}

/** How Temporal names a version: `<deployment>.<build id>`. */
export const versionName = (v: Pick<WorkerVersion, 'deploymentName' | 'buildId'>): string =>
  `${v.deploymentName}.${v.buildId}`;

/**
 * The sha256 of a workflow bundle's code. Its inline source map is left out: it names the checkout's
 * absolute paths, so the same code bundled in two folders (a clean clone in CI, another machine)
 * would otherwise get two build ids, and no run pinned to one would be replayed as the other's.
 */
export function workflowCodeHash(bundleFile: string): string {
  const code = readFileSync(bundleFile, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/gm, '');
  return createHash('sha256').update(code).digest('hex');
}

/** The build id of workflow code, when no release names it: two codes never share one. */
export const derivedBuildId = (codeHash: string): string => `wf-${codeHash.slice(0, 16)}`;

/**
 * The version this checkout's Temporal worker runs as. The code is hashed without the tracing
 * interceptors, which issue no commands: a traced and an untraced worker of one release are one version.
 */
export async function workerVersionOf(config: Config): Promise<WorkerVersion> {
  return versionOfBundle(config, await workflowBundlePath(false));
}

/** The version a worker running the workflow code bundled in `bundleFile` runs as. */
export function versionOfBundle(config: Config, bundleFile: string): WorkerVersion {
  const { deploymentName, buildId } = config.temporal.versioning;
  const codeHash = workflowCodeHash(bundleFile);
  return { deploymentName, buildId: buildId ?? derivedBuildId(codeHash), codeHash };
}
