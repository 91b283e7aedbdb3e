import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WorkflowService } from '@temporalio/client';
import { ConfigError, loadConfig } from '../../src/platform/config';
import { derivedBuildId, workflowCodeHash } from '../../src/platform/temporal/build-id';
import type { WorkerVersion } from '../../src/platform/temporal/build-id';
import {
  CODE_HASH_KEY,
  makeCurrentUnlessRouted,
  refuseOtherCode,
  setCurrentVersion,
  WorkerVersioningError,
} from '../../src/platform/temporal/worker-deployment';
import { versionBeforePolling } from '../../src/processes/worker-version';

const claimedBy = (hash: string) => ({
  metadata: {
    entries: { [CODE_HASH_KEY]: { data: new TextEncoder().encode(JSON.stringify(hash)) } },
  },
});

describe("the Temporal worker's deployment version", () => {
  it('is on by default, as deployment `shipshape`, with a build id derived from the code', () => {
    assert.deepEqual(loadConfig({}).temporal.versioning, {
      enabled: true,
      deploymentName: 'shipshape',
      buildId: undefined,
      makeCurrent: true,
    });
  });

  it('refuses a deployment name with a dot (Temporal joins name and build id with one) and a bad build id', () => {
    assert.throws(
      () => loadConfig({ SHIPSHAPE_DEPLOYMENT_NAME: 'ship.shape' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /SHIPSHAPE_DEPLOYMENT_NAME must be .*\(no dots\), got "ship\.shape"/.test(err.message),
    );
    assert.throws(
      () => loadConfig({ SHIPSHAPE_BUILD_ID: '-release 1' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /SHIPSHAPE_BUILD_ID must be .*got "-release 1"/.test(err.message),
    );
    assert.equal(
      loadConfig({ SHIPSHAPE_BUILD_ID: 'release-2026.12.1' }).temporal.versioning.buildId,
      'release-2026.12.1',
    );
  });

  it('derives one build id per workflow code: different code, different id', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bundles-'));
    const file = (name: string, code: string) => {
      writeFileSync(path.join(dir, name), code);
      return derivedBuildId(workflowCodeHash(path.join(dir, name)));
    };
    const a = file('a.js', 'export const step = 1;');
    assert.match(a, /^wf-[0-9a-f]{16}$/);
    assert.equal(file('a-again.js', 'export const step = 1;'), a);
    assert.notEqual(file('b.js', 'export const step = 2;'), a);
  });

  it('derives the same id for the same code bundled in another folder (its source map differs)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bundles-'));
    const map = (folder: string) =>
      `//# sourceMappingURL=data:application/json;base64,${Buffer.from(
        JSON.stringify({ sources: [`${folder}/dist/workflows/index.js`] }),
      ).toString('base64')}`;
    const idOf = (name: string, text: string) => {
      writeFileSync(path.join(dir, name), text);
      return derivedBuildId(workflowCodeHash(path.join(dir, name)));
    };
    const code = 'export const step = 1;\n';
    const here = idOf('here.js', `${code}${map('/work/main')}`);
    assert.equal(idOf('clone.js', `${code}${map('/tmp/clone')}`), here);
    assert.notEqual(idOf('changed.js', `export const step = 2;\n${map('/work/main')}`), here);
  });

  it('refuses a build id that Temporal knows as other code, and takes it when the code is the same', () => {
    const v: WorkerVersion = {
      deploymentName: 'shipshape',
      buildId: 'release-1',
      codeHash: 'a'.repeat(64),
    };
    refuseOtherCode(v, undefined);
    refuseOtherCode(v, claimedBy('a'.repeat(64)));
    assert.throws(
      () => refuseOtherCode(v, claimedBy('b'.repeat(64))),
      (err: unknown) =>
        err instanceof WorkerVersioningError &&
        /build id "release-1" of deployment "shipshape" is already taken by other workflow code \(hash bbbbbbbbbbbbbbbb…; this worker's is aaaaaaaaaaaaaaaa…\)/.test(
          err.message,
        ),
    );
  });

  it('refuses to start a versioned worker without a build id, before it asks Temporal anything', async () => {
    const untouched = new Proxy({} as WorkflowService, {
      get: (_, name) => {
        throw new Error(`Temporal was asked ${String(name)}`);
      },
    });
    await assert.rejects(
      versionBeforePolling(loadConfig({}), untouched, () =>
        Promise.reject(new Error('ENOENT: dist/workflows/index.js')),
      ),
      (err: unknown) =>
        err instanceof WorkerVersioningError &&
        /SHIPSHAPE_WORKER_VERSIONING is on but the worker has no build id: SHIPSHAPE_BUILD_ID is unset and none could be derived.*ENOENT.*set SHIPSHAPE_BUILD_ID/.test(
          err.message,
        ),
    );
  });
});

/** Temporal's deployment calls as a fake: one deployment, its versions, pollers and routing. */
function fakeDeployment(opts: {
  current?: string;
  versions: { buildId: string; createdSec: number; routedBefore?: boolean; pollers?: number }[];
  /** The first N set-current calls lose a race: another replica set this version meanwhile. */
  lostRaces?: number;
}) {
  let current = opts.current;
  let lostRaces = opts.lostRaces ?? 0;
  const sets: string[] = [];
  const service = {
    describeWorkerDeployment: () =>
      Promise.resolve({
        conflictToken: new Uint8Array([1]),
        workerDeploymentInfo: {
          routingConfig: { currentDeploymentVersion: current ? { buildId: current } : null },
          versionSummaries: opts.versions.map((v) => ({
            deploymentVersion: { buildId: v.buildId },
            createTime: { seconds: v.createdSec },
          })),
        },
      }),
    describeWorkerDeploymentVersion: (r: { deploymentVersion: { buildId: string } }) =>
      Promise.resolve({
        workerDeploymentVersionInfo: {
          routingChangedTime: opts.versions.find((v) => v.buildId === r.deploymentVersion.buildId)
            ?.routedBefore
            ? { seconds: 1 }
            : null,
        },
      }),
    describeTaskQueue: () =>
      Promise.resolve({
        pollers: opts.versions.flatMap((v) =>
          Array.from({ length: v.pollers ?? 1 }, () => ({
            lastAccessTime: { seconds: Math.floor(Date.now() / 1000) },
            deploymentOptions: { deploymentName: 'shipshape', buildId: v.buildId },
          })),
        ),
      }),
    setWorkerDeploymentCurrentVersion: (r: { buildId: string }) => {
      if (lostRaces > 0) {
        lostRaces -= 1;
        current = r.buildId;
        return Promise.reject(Object.assign(new Error('conflict token mismatch'), { code: 9 }));
      }
      sets.push(r.buildId);
      current = r.buildId;
      return Promise.resolve({});
    },
  };
  return { service: service as unknown as WorkflowService, sets, current: () => current };
}

describe('making a version current', () => {
  const v = (buildId: string): WorkerVersion => ({
    deploymentName: 'shipshape',
    buildId,
    codeHash: '',
  });
  const opts = { namespace: 'default', taskQueue: 'shipshape-orders', identity: 'test' };

  it('takes a version that a replica of the same build made current meanwhile as done', async () => {
    const d = fakeDeployment({
      current: 'old',
      versions: [
        { buildId: 'old', createdSec: 1 },
        { buildId: 'new', createdSec: 2 },
      ],
      lostRaces: 1,
    });
    assert.equal(await setCurrentVersion(d.service, v('new'), opts), undefined);
    assert.equal(d.current(), 'new');
  });

  it('refuses a version that no worker polls, and leaves the current one', async () => {
    const d = fakeDeployment({
      current: 'old',
      versions: [
        { buildId: 'old', createdSec: 1 },
        { buildId: 'new', createdSec: 2, pollers: 0 },
      ],
    });
    await assert.rejects(
      setCurrentVersion(d.service, v('new'), opts),
      /no worker of version shipshape\.new polls task queue "shipshape-orders"/,
    );
    assert.equal(d.current(), 'old');
  });

  it('lets a worker make its version current the first time, but never roll a rollout or a rollback back', async () => {
    const first = fakeDeployment({
      current: 'old',
      versions: [
        { buildId: 'old', createdSec: 1 },
        { buildId: 'new', createdSec: 2 },
      ],
    });
    assert.deepEqual(await makeCurrentUnlessRouted(first.service, v('new'), opts), {
      madeCurrent: true,
      current: 'shipshape.new',
    });

    // The old build's worker restarts during the rollout: a newer version is current.
    const restartOld = fakeDeployment({
      current: 'new',
      versions: [
        { buildId: 'old', createdSec: 1, routedBefore: true },
        { buildId: 'new', createdSec: 2, routedBefore: true },
      ],
    });
    assert.equal(
      (await makeCurrentUnlessRouted(restartOld.service, v('old'), opts)).madeCurrent,
      false,
    );
    assert.deepEqual(restartOld.sets, []);

    // The new build's worker restarts after an operator rolled back to the old one.
    const restartNew = fakeDeployment({
      current: 'old',
      versions: [
        { buildId: 'old', createdSec: 1, routedBefore: true },
        { buildId: 'new', createdSec: 2, routedBefore: true },
      ],
    });
    assert.deepEqual(await makeCurrentUnlessRouted(restartNew.service, v('new'), opts), {
      madeCurrent: false,
      current: 'shipshape.old',
    });
    assert.deepEqual(restartNew.sets, []);
  });
});
