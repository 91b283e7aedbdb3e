import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../../src/platform/config';
import { createLogger } from '../../src/platform/logger';
import { projectRoot } from '../../src/platform/paths';
import { workerVersionOf } from '../../src/platform/temporal/build-id';
import type { WorkerVersion } from '../../src/platform/temporal/build-id';
import { CODE_HASH_KEY } from '../../src/platform/temporal/worker-deployment';
import { temporal as proto } from '@temporalio/proto';
import { startTemporalWorker } from '../../src/processes/temporal-worker';
import type { Component } from '../../src/processes/resources';
import { TEST_ENV, uniqueId } from '../support/env';
import { hasStatus, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';
import { temporalCli } from '../support/temporal-cli';
import { forgetEarlierDeployments } from '../support/worker-deployments';

const run = promisify(execFile);
const bin = path.join(projectRoot, 'bin', 'shipshape.js');
const PREFIX = 'versioning-test-';

describe('versioned Temporal workers (Worker Deployments on the real Temporal)', function () {
  this.timeout(120_000);
  let h: Harness;
  let own: WorkerVersion;
  const extra: Component[] = [];
  const deploymentName = uniqueId(PREFIX.slice(0, -1));
  const service = () => h.temporal.connection.workflowService;
  const namespace = () => h.config.temporal.namespace;

  before(async function () {
    this.timeout(180_000);
    h = await startHarness({
      SHIPSHAPE_WORKER_VERSIONING: 'on',
      SHIPSHAPE_DEPLOYMENT_NAME: deploymentName,
    });
    own = await workerVersionOf(h.config);
    await forgetEarlierDeployments(service(), namespace(), PREFIX);
  });
  after(async function () {
    this.timeout(60_000);
    for (const c of extra.reverse()) await c.stop();
    await h?.stop();
  });

  /** One more Temporal worker of this deployment, on the harness's task queue. */
  const worker = (versioning: Partial<Config['temporal']['versioning']>) =>
    startTemporalWorker(
      {
        ...h.config,
        temporal: {
          ...h.config.temporal,
          versioning: { ...h.config.temporal.versioning, ...versioning },
        },
      },
      createLogger('test-worker', 'fatal'),
    );
  const current = async () =>
    (await service().describeWorkerDeployment({ namespace: namespace(), deploymentName }))
      .workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId;
  const cli = (...args: string[]) =>
    run('node', [bin, ...args], {
      env: {
        ...TEST_ENV,
        SHIPSHAPE_DEPLOYMENT_NAME: deploymentName,
        TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
      },
      cwd: projectRoot,
    });
  async function placeOrder(): Promise<string> {
    const sku = uniqueId('sku');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 5 });
    const orderId = uniqueId('ver');
    const r = await http(
      h,
      'POST',
      '/orders',
      orderBody({ orderId, customerId: uniqueId('c'), sku }),
    );
    assert.equal(r.status, 202);
    await waitForOrder(h, orderId, hasStatus('COMPLETED'));
    return orderId;
  }
  async function versionOfOrder(orderId: string) {
    const d = await h.temporal.workflow.getHandle(`order-${orderId}`).describe();
    const info = d.raw.workflowExecutionInfo?.versioningInfo;
    return {
      buildId: info?.deploymentVersion?.buildId,
      deploymentName: info?.deploymentVersion?.deploymentName,
      pinned: info?.behavior === proto.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED,
    };
  }

  it("runs each order pinned to the worker's version, which the worker made current once it polled", async () => {
    assert.match(own.buildId, /^wf-[0-9a-f]{16}$/, 'a build id derived from the workflow code');
    assert.equal(await current(), own.buildId);
    const orderId = await placeOrder();
    assert.deepEqual(await versionOfOrder(orderId), {
      buildId: own.buildId,
      deploymentName,
      pinned: true,
    });
    // As an operator reads it with Temporal's own CLI.
    const temporal = await temporalCli(h.config);
    const { stdout } = await temporal('workflow', 'describe', '--workflow-id', `order-${orderId}`);
    const versioning = stdout.slice(stdout.indexOf('Versioning Info:'));
    assert.match(versioning, /Behavior\s+Pinned/);
    assert.match(versioning, new RegExp(`DeploymentName\\s+${deploymentName}\\n`));
    assert.match(versioning, new RegExp(`BuildId\\s+${own.buildId}\\n`));
  });

  it('keeps an order on the build it started on while new orders start on the next, and a restart rolls nothing back', async () => {
    const before = await placeOrder();
    const next = `${own.buildId}-next`;
    extra.push(await worker({ buildId: next, makeCurrent: false }));
    assert.equal(
      await current(),
      own.buildId,
      'a worker told not to make its version current leaves it',
    );

    const { stderr } = await cli('deployment', 'set-current', next, '--wait', '30s');
    assert.match(stderr, new RegExp(`${deploymentName}\\.${next} is current`));
    const after = await placeOrder();
    assert.equal((await versionOfOrder(after)).buildId, next);
    assert.equal((await versionOfOrder(before)).buildId, own.buildId);

    // A worker of the earlier build that (re)starts now must not take new orders back.
    extra.push(await worker({}));
    assert.equal(await current(), next);
    const { stdout } = await cli('deployment', 'describe', '--json');
    const described = JSON.parse(stdout) as {
      versions: { buildId: string; role: string; thisCheckout: boolean }[];
    };
    assert.deepEqual(
      described.versions.map((v) => [v.buildId, v.role, v.thisCheckout]).sort(),
      [
        [next, 'current', false],
        [own.buildId, '-', true],
      ].sort(),
    );
  });

  describe('refuses bad input before any order is affected', () => {
    it('a build id that other workflow code already took', async () => {
      const taken = `${own.buildId}-next`;
      // As another build's worker would have recorded it first.
      await service().updateWorkerDeploymentVersionMetadata({
        namespace: namespace(),
        deploymentVersion: { deploymentName, buildId: taken },
        upsertEntries: {
          [CODE_HASH_KEY]: {
            metadata: { encoding: new TextEncoder().encode('json/plain') },
            data: new TextEncoder().encode(JSON.stringify('f'.repeat(64))),
          },
        },
      });
      await assert.rejects(
        worker({ buildId: taken }),
        /build id ".*-next" of deployment ".*" is already taken by other workflow code \(hash ffffffffffffffff…; this worker's is [0-9a-f]{16}…\).*SHIPSHAPE_BUILD_ID/s,
      );
      // Orders still run, on the current version.
      await placeOrder();
    });

    it('an unversioned worker on a task queue that a version owns', async () => {
      await assert.rejects(
        worker({ enabled: false }),
        /SHIPSHAPE_WORKER_VERSIONING is off, but task queue ".*" sends its workflow tasks to version .*: this worker would get no order/,
      );
    });

    it('making current a version that no worker polls', async () => {
      const was = await current();
      await assert.rejects(
        cli('deployment', 'set-current', 'never-polled'),
        (err: { code: number; stderr: string }) => {
          assert.equal(err.code, 4);
          assert.match(
            err.stderr,
            new RegExp(
              `no worker of version ${deploymentName}\\.never-polled polls task queue .*Start its workers`,
            ),
          );
          return true;
        },
      );
      assert.equal(await current(), was);
      await placeOrder();
    });
  });
});
