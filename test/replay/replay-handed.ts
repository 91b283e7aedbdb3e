import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workerDataConverter } from '../../src/platform/temporal/connection';
import { EncryptionCodec } from '../../src/platform/temporal/payload-codec';
import { parsePayloadKeys } from '../../src/platform/temporal/payload-keys';
import { parseTrustedKeys } from '../../src/platform/temporal/signing-codecs';
import {
  BUILDS_DIR,
  EARLIER_HISTORIES_DIR,
  FIXTURE_PAYLOAD_KEYS,
  HISTORIES_DIR,
  SIGNERS_FILE,
} from './fixtures';
import { buildOf, WHAT_TO_DO, whyHanded } from './handed';
import type { Handed } from './handed';
import { SCENARIOS } from './scenarios';

export const jsonIn = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => path.join(dir, f))
    : [];
export const foldersIn = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);

/**
 * Every recorded history, a group per folder: the unversioned ones (here, then each generation in
 * earlier/), then each build's. One folder never holds a workflow id twice; two folders may.
 */
function recordedGroups(): string[][] {
  return [
    SCENARIOS.map((s) => path.join(HISTORIES_DIR, `${s.name}.json`)),
    ...foldersIn(EARLIER_HISTORIES_DIR).map((g) => jsonIn(path.join(EARLIER_HISTORIES_DIR, g))),
    ...foldersIn(BUILDS_DIR).map((b) => jsonIn(path.join(BUILDS_DIR, b))),
  ];
}

/** One recorded history, with the run's workflow id and the build it ran on. */
export function readRecorded(file: string) {
  const history = historyFromJSON(JSON.parse(readFileSync(file, 'utf8')));
  // Command ids are made from the workflow id: the replay must run under the recorded one.
  const workflowId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId;
  assert.ok(workflowId, `${file}: the history starts with the run's workflow id`);
  return {
    workflowId,
    history,
    file: path.relative(HISTORIES_DIR, file),
    recorded: buildOf(history),
  };
}

export interface ReplayFailure {
  file: string;
  why: Handed;
  error: string;
}

/** A failure as the test prints it: the history, why this build meets runs like it, what to do. */
export const describeFailure = (f: ReplayFailure): string =>
  `${f.file} (${f.why}): ${f.error}\n      what to do: ${WHAT_TO_DO[f.why]}`;

/**
 * Replays on the workflow code in `bundlePath`, as build `buildId`, every recorded history that a
 * worker of that build may be handed (handed.ts); answers how many replayed and which failed.
 */
export async function replayHanded(
  bundlePath: string,
  buildId: string,
): Promise<{ replayed: number; handed: number; failures: ReplayFailure[] }> {
  const failures: ReplayFailure[] = [];
  let replayed = 0;
  let handed = 0;
  for (const group of recordedGroups()) {
    const histories = group.map(readRecorded).flatMap((h) => {
      const why = whyHanded(h.recorded, buildId);
      return why ? [{ ...h, why }] : [];
    });
    handed += histories.length;
    if (!histories.length) continue;
    // Results name the workflow id only: within one folder, that says which history.
    const byWorkflow = new Map(histories.map((h) => [h.workflowId, h]));
    for await (const result of Worker.runReplayHistories(
      {
        workflowBundle: { codePath: bundlePath },
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
      const h = byWorkflow.get(result.workflowId);
      if (result.error && h)
        failures.push({ file: h.file, why: h.why, error: result.error.message });
      else if (result.error) throw result.error;
    }
  }
  return { replayed, handed, failures };
}
