import { Option } from 'commander';
import type { Command } from 'commander';
import type { Config } from '../platform/config';
import { versionName, workerVersionOf } from '../platform/temporal/build-id';
import { connectTemporal } from '../platform/temporal/connection';
import {
  livePollers,
  setCurrentVersion,
  WorkerVersioningError,
} from '../platform/temporal/worker-deployment';
import { CliError, config, EXIT, parseDuration, print, say } from './common';
import { green, table } from './output';

/** `shipshape deployment …`: the Temporal worker's Worker Deployment and its versions. */
export function deploymentCommands(program: Command): void {
  const deployment = program
    .command('deployment')
    .description(
      "the Temporal worker's Worker Deployment: its versions (one per build id) and which one new orders start on",
    );
  deployment
    .command('describe')
    .description("the deployment's versions: current, ramping, drainage, live pollers")
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => {
      const c = config();
      await withService(c, async (service) => {
        const { namespace, taskQueue, versioning } = c.temporal;
        const own = versioning.enabled ? await workerVersionOf(c) : undefined;
        const r = await service
          .describeWorkerDeployment({ namespace, deploymentName: versioning.deploymentName })
          .catch((err: { code?: number }) => {
            if (err.code === 5)
              throw new CliError(
                `no Worker Deployment "${versioning.deploymentName}" yet: no versioned worker has polled`,
                EXIT.notFound,
              );
            throw err;
          });
        const info = r.workerDeploymentInfo;
        const routing = info?.routingConfig;
        const rows = await Promise.all(
          (info?.versionSummaries ?? []).map(async (s) => {
            const buildId = s.deploymentVersion?.buildId ?? '';
            const v = { deploymentName: versioning.deploymentName, buildId };
            return {
              version: versionName(v),
              buildId,
              role:
                routing?.currentDeploymentVersion?.buildId === buildId
                  ? 'current'
                  : routing?.rampingDeploymentVersion?.buildId === buildId
                    ? `ramping ${routing.rampingVersionPercentage ?? 0}%`
                    : '-',
              drainage: drainageOf(s.drainageStatus),
              pollers: await livePollers(service, namespace, taskQueue, v),
              thisCheckout: buildId === own?.buildId,
            };
          }),
        );
        if (o.json)
          return print(JSON.stringify({ deployment: info?.name, versions: rows }, null, 2));
        print(
          table(
            ['version', 'role', 'drainage', 'live pollers', ''],
            rows.map((v) => [
              v.version,
              v.role === 'current' ? green(v.role) : v.role,
              v.drainage,
              String(v.pollers),
              v.thisCheckout ? "this checkout's build" : '',
            ]),
          ),
        );
      });
    });
  deployment
    .command('set-current')
    .description(
      'make a version current: new orders start on it; pinned orders stay on their own (refused while no worker of it polls)',
    )
    .argument(
      '[build-id]',
      "the version's build id; default: this checkout's (SHIPSHAPE_BUILD_ID, or derived)",
    )
    .addOption(
      new Option('--wait <duration>', 'wait this long for a worker of it to poll')
        .argParser(parseDuration)
        .default(0, 'no wait'),
    )
    .action(async (buildId: string | undefined, o: { wait: number }) => {
      const c = config();
      const { namespace, taskQueue, versioning } = c.temporal;
      const v = {
        deploymentName: versioning.deploymentName,
        buildId: buildId ?? (await workerVersionOf(c)).buildId,
      };
      await withService(c, async (service) => {
        const before = await setCurrentVersion(service, v, {
          namespace,
          taskQueue,
          identity: 'shipshape cli',
          waitForPollerMs: o.wait,
        });
        say(green(`${versionName(v)} is current${before ? ` (was ${before})` : ''}`));
      });
    });
}

const drainageOf = (status: number | null | undefined): string =>
  ({ 1: 'draining', 2: 'drained' })[status ?? 0] ?? '-';

async function withService<T>(
  c: Config,
  fn: (service: Awaited<ReturnType<typeof connectTemporal>>['workflowService']) => Promise<T>,
): Promise<T> {
  const connection = await connectTemporal(c, 'cli');
  try {
    return await fn(connection.workflowService);
  } catch (err) {
    if (err instanceof WorkerVersioningError) throw new CliError(err.message, EXIT.conflict);
    throw err;
  } finally {
    await connection.close();
  }
}
