import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundlePath } from '../../src/platform/temporal/bundle';
import { EncryptionCodec } from '../../src/platform/temporal/payload-codec';
import { parsePayloadKeys } from '../../src/platform/temporal/payload-keys';
import {
  EARLIER_HISTORIES_DIR,
  FIXTURE_PAYLOAD_KEYS,
  HISTORIES_DIR,
  SIGNERS_FILE,
} from './fixtures';
import { workerDataConverter } from '../../src/platform/temporal/connection';
import { parseTrustedKeys } from '../../src/platform/temporal/signing-codecs';
import { SCENARIOS } from './scenarios';

/**
 * Every recorded path of an order (`npm run histories:record` plays them on the real stack) replayed
 * against the workflow code as it is now: a change that would take a running order down another path
 * than its history — a non-deterministic change — fails here, before it reaches a worker. Histories
 * of earlier workflow code (histories/earlier/) replay too: their runs may still be open.
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

  it('replays each of them, and every earlier generation, without a determinism error', async () => {
    const read = (file: string) => {
      const history = historyFromJSON(JSON.parse(readFileSync(file, 'utf8')));
      // Command ids are made from the workflow id: the replay must run under the recorded one.
      const workflowId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId;
      assert.ok(workflowId, `${file}: the history starts with the run's workflow id`);
      return { workflowId, history, file: path.relative(HISTORIES_DIR, file) };
    };
    const earlier = readdirSync(EARLIER_HISTORIES_DIR).flatMap((generation) =>
      readdirSync(path.join(EARLIER_HISTORIES_DIR, generation))
        .filter((f) => f.endsWith('.json'))
        .map((f) => path.join(EARLIER_HISTORIES_DIR, generation, f)),
    );
    const histories = [
      ...SCENARIOS.map((s) => path.join(HISTORIES_DIR, `${s.name}.json`)),
      ...earlier,
    ].map(read);
    const byWorkflow = new Map(histories.map((h) => [h.workflowId, h.file]));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      {
        workflowBundle: { codePath: await workflowBundlePath(false) },
        // As the Temporal worker reads payloads: decrypted, signatures checked.
        dataConverter: workerDataConverter(
          new EncryptionCodec(parsePayloadKeys(FIXTURE_PAYLOAD_KEYS), 'mark'),
          parseTrustedKeys(readFileSync(SIGNERS_FILE, 'utf8'), 'test/replay/histories/signers.txt'),
        ),
        replayName: 'recorded-order-histories',
      },
      histories,
    )) {
      replayed += 1;
      if (result.error)
        failures.push(
          `${byWorkflow.get(result.workflowId) ?? result.workflowId}: ${result.error.message}`,
        );
    }
    assert.deepEqual(
      failures,
      [],
      'a change to the workflow would take these recorded runs down another path: put it behind ' +
        "patched() (docs/operations.md, 'Changing the workflow'), or ship it as a new worker version",
    );
    assert.equal(replayed, histories.length);
  });
});
