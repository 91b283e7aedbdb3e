import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { projectRoot } from '../../src/platform/paths';
import { prepareInfrastructure } from '../../src/processes/setup';
import { stackDown, stackStatus, stackUp } from '../../tooling/stack/stack';
import { testConfig } from '../support/env';
import { startHarness } from '../support/harness';
import type { Harness } from '../support/harness';
import { BUILDS_DIR, FIXTURE_PAYLOAD_KEYS, SIGNERS_FILE } from './fixtures';
import { workerVersionOf } from '../../src/platform/temporal/build-id';
import { makeThisBuildCurrent } from '../../src/processes/worker-version';
import { trustedKeysFor } from '../../src/platform/temporal/configured-signing-keys';
import { trustedEntryOf } from '../../src/platform/temporal/signing-codecs';
import { SCENARIOS } from './scenarios';

const USAGE = `Usage: npm run histories:record [-- <scenario> …]

Plays each path of an order on the real stack (the test stack: its own ports and data folder,
started here and stopped after unless it was already running), on a versioned worker of this
checkout's build, and writes the order's workflow history to
test/replay/histories/builds/<build id>/<scenario>.json, encrypted with the fixtures' payload key and
signed with the stack's signing keys (their public halves are added to
test/replay/histories/signers.txt). The replay test (npm test) replays, on the current code, every
history a worker of its build may be handed: the unversioned ones (histories/*.json and
histories/earlier/), and the pinned ones of its own build id (docs/operations.md, "Changing the
workflow"). Recording again on the same build id replaces that build's histories only.

Scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}
Without names, every scenario is recorded.`;

const TIMINGS: Record<'short' | 'reconcile', NodeJS.ProcessEnv> = {
  // Failures play out in seconds.
  short: {
    SHIPSHAPE_STEP_TIMEOUT_MS: '1500',
    SHIPSHAPE_STEP_MAX_SENDS: '3',
    SHIPSHAPE_MAX_DELIVER: '3',
    SHIPSHAPE_COMPENSATION_ROUNDS: '1',
    SHIPSHAPE_LOYALTY_RETRY_MS: '300',
  },
  // Nothing re-sends by itself: only reconciles move these orders.
  reconcile: { SHIPSHAPE_STEP_TIMEOUT_MS: '60000', SHIPSHAPE_STEP_MAX_SENDS: '3' },
};

async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const unknown = args.filter((a) => !SCENARIOS.some((s) => s.name === a));
  if (unknown.length) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}\n\n${USAGE}\n`);
    return 2;
  }
  const chosen = SCENARIOS.filter((s) => !args.length || args.includes(s.name));
  const config = testConfig();
  const startedHere = (await stackStatus(config)).every((s) => !s.managed || !s.running);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  await stackUp(config, (line) => say(`[stack] ${line}`));
  await prepareInfrastructure(config);
  const started = Date.now();
  try {
    for (const timing of ['short', 'reconcile'] as const) {
      const group = chosen.filter((s) => s.timing === timing);
      if (!group.length) continue;
      const h: Harness = await startHarness({
        ...TIMINGS[timing],
        SHIPSHAPE_PAYLOAD_KEYS: FIXTURE_PAYLOAD_KEYS,
        // Each history then names the build its run was pinned to.
        SHIPSHAPE_WORKER_VERSIONING: 'on',
        SHIPSHAPE_DEPLOYMENT_NAME: 'shipshape-histories',
      });
      // The harness's task queue is new: its orders go to this build whatever ran before.
      await makeThisBuildCurrent(h.config);
      const dir = path.join(BUILDS_DIR, (await workerVersionOf(h.config)).buildId);
      mkdirSync(dir, { recursive: true });
      try {
        for (const [i, scenario] of group.entries()) {
          const t0 = Date.now();
          const orderId = await scenario.play(h);
          const handle = h.temporal.workflow.getHandle(`order-${orderId}`);
          await handle.result(); // the whole run, to its last event
          const history = await handle.fetchHistory();
          const file = path.join(dir, `${scenario.name}.json`);
          writeFileSync(file, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 1)}\n`);
          say(
            `[${i + 1}/${group.length} ${timing}] ${scenario.name}: ${history.events?.length ?? 0} events, ${((Date.now() - t0) / 1000).toFixed(1)} s → ${path.relative(projectRoot, file)}`,
          );
          await h.payment.app.inject({ method: 'POST', url: '/_control/reset' });
          await h.carrier.app.inject({ method: 'POST', url: '/_control/reset' });
        }
      } finally {
        await h.stop();
      }
    }
  } finally {
    if (startedHere) await stackDown(config);
  }
  keepSigners(trustedKeysFor(config).map(trustedEntryOf));
  say(`recorded ${chosen.length} histories in ${Math.round((Date.now() - started) / 1000)} s`);
  return 0;
}

/** Adds the recording stack's signers to those the replay trusts; earlier ones stay. */
function keepSigners(entries: string[]): void {
  const kept = existsSync(SIGNERS_FILE)
    ? readFileSync(SIGNERS_FILE, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
    : [];
  const all = [...new Set([...kept, ...entries])];
  writeFileSync(SIGNERS_FILE, `${all.join('\n')}\n`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`recording failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
