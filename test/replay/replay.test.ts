import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundlePath } from '../../src/platform/temporal/bundle';
import { EncryptionCodec } from '../../src/platform/temporal/payload-codec';
import { parsePayloadKeys } from '../../src/platform/temporal/payload-keys';
import { FIXTURE_PAYLOAD_KEYS, HISTORIES_DIR } from './fixtures';
import { SCENARIOS } from './scenarios';

/**
 * Every recorded path of an order (`npm run histories:record` plays them on the real stack) replayed
 * against the workflow code as it is now: a change that would take a running order down another path
 * than its history — a non-deterministic change — fails here, before it reaches a worker.
 */
describe('recorded order histories replay on the current workflow code', function () {
  this.timeout(120_000);

  it('has a recorded history for every scenario, and nothing else', () => {
    const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));
    assert.deepEqual(
      files.map((f) => f.replace(/\.json$/, '')).sort(),
      SCENARIOS.map((s) => s.name).sort(),
    );
  });

  it('replays each of them without a determinism error', async () => {
    const histories = SCENARIOS.map((s) => {
      const history = historyFromJSON(
        JSON.parse(readFileSync(path.join(HISTORIES_DIR, `${s.name}.json`), 'utf8')),
      );
      // Command ids are made from the workflow id: the replay must run under the recorded one.
      const workflowId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId;
      assert.ok(workflowId, `${s.name}: the history starts with the run's workflow id`);
      return { workflowId, history };
    });
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      {
        workflowBundle: { codePath: await workflowBundlePath(false) },
        dataConverter: {
          payloadCodecs: [new EncryptionCodec(parsePayloadKeys(FIXTURE_PAYLOAD_KEYS))],
          failureConverterPath: require.resolve('../../src/platform/temporal/failure-converter'),
        },
        replayName: 'recorded-order-histories',
      },
      histories,
    )) {
      replayed += 1;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
    assert.equal(replayed, SCENARIOS.length);
  });
});
