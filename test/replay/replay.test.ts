import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/platform/config';
import { bundleWorkflows, workflowBundlePath } from '../../src/platform/temporal/bundle';
import { workerVersionOf } from '../../src/platform/temporal/build-id';
import { BUILDS_DIR, HISTORIES_DIR } from './fixtures';
import { whyHanded } from './handed';
import { describeFailure, foldersIn, jsonIn, readRecorded, replayHanded } from './replay-handed';
import { SCENARIOS } from './scenarios';

/**
 * Every recorded path of an order (`npm run histories:record` plays them on the real stack) replayed
 * against the workflow code as it is now, wherever a worker of this build may be handed runs like it
 * (test/replay/handed.ts): a change that would take such a run down another path than its history
 * (a non-deterministic change) fails here, before it reaches a worker, naming the history and what to do.
 */
describe('recorded order histories replay on the builds that may be handed them', function () {
  this.timeout(120_000);

  it('has a recorded history for every scenario, and nothing else', () => {
    assert.deepEqual(
      jsonIn(HISTORIES_DIR)
        .map((f) => path.basename(f, '.json'))
        .sort(),
      SCENARIOS.map((s) => s.name).sort(),
    );
    for (const build of foldersIn(BUILDS_DIR))
      for (const file of jsonIn(path.join(BUILDS_DIR, build)))
        assert.ok(
          SCENARIOS.some((s) => s.name === path.basename(file, '.json')),
          `builds/${build}/${path.basename(file)} is no scenario's`,
        );
  });

  it('keeps each versioned history under the build id it ran on', () => {
    for (const build of foldersIn(BUILDS_DIR))
      for (const file of jsonIn(path.join(BUILDS_DIR, build)))
        assert.equal(
          readRecorded(file).recorded?.buildId,
          build,
          `builds/${build}/${path.basename(file)}`,
        );
  });

  it('hands a build unversioned and auto-upgrade runs always, pinned runs of its own build only', () => {
    assert.equal(whyHanded(undefined, 'wf-b'), 'unversioned');
    assert.equal(whyHanded({ buildId: 'wf-a', pinned: false }, 'wf-b'), 'auto-upgrade');
    assert.equal(whyHanded({ buildId: 'wf-b', pinned: true }, 'wf-b'), 'own-build');
    assert.equal(whyHanded({ buildId: 'wf-a', pinned: true }, 'wf-b'), undefined);
  });

  it('replays every history this build may be handed, without a determinism error', async () => {
    // The build id a worker of this checkout runs as: SHIPSHAPE_BUILD_ID, or derived from the code.
    const { buildId } = await workerVersionOf(loadConfig());
    const { replayed, handed, failures } = await replayHanded(
      await workflowBundlePath(false),
      buildId,
    );
    assert.ok(handed > 0, 'some recorded history is handed to every build');
    assert.deepEqual(
      failures.map(describeFailure),
      [],
      `build ${buildId} would take these recorded runs down another path than their histories`,
    );
    assert.equal(replayed, handed);
  });

  it('names each history a changed workflow would break, and what to do about it', async () => {
    const bundle = path.join(os.tmpdir(), `changed-workflows-${process.pid}.js`);
    writeFileSync(bundle, await bundleWorkflows(require.resolve('./changed-workflows')));
    const recordedBuild = foldersIn(BUILDS_DIR)[0];
    assert.ok(recordedBuild, 'histories recorded on a versioned worker');

    // Changed code under a build id of its own: only runs that move between builds meet it.
    const newBuild = await replayHanded(bundle, 'wf-changed');
    const files = newBuild.failures.map((f) => f.file);
    assert.ok(files.includes('completed.json'), files.join(', '));
    assert.ok(
      !files.some((f) => f.startsWith('builds/')),
      'pinned runs of other builds are not its',
    );
    assert.match(
      describeFailure(newBuild.failures.find((f) => f.file === 'completed.json')!),
      /^completed\.json \(unversioned\): .*\n\s+what to do: .*put the change behind patched\(\)/s,
    );

    // Changed code under the build id its histories were recorded on: its own pinned runs break too.
    const sameId = await replayHanded(bundle, recordedBuild);
    const own = sameId.failures.find((f) => f.file === `builds/${recordedBuild}/completed.json`);
    assert.ok(own, sameId.failures.map((f) => f.file).join(', '));
    assert.match(
      describeFailure(own),
      /\(own-build\): .*\n\s+what to do: .*give the changed code a build id of its own/s,
    );
  });
});
