import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { distDir } from '../../src/platform/paths';

const run = promisify(execFile);

/** Each case: the command line, and what the one-line refusal must say. */
type Refusal = readonly [readonly string[], RegExp];

/** A benchmark refuses a mistaken command line before it starts anything, naming the mistake. */
function refusesMistakes(script: string, cases: readonly Refusal[]): void {
  for (const [args, message] of cases) {
    it(`refuses ${args.join(' ')}`, async () => {
      await assert.rejects(
        run(process.execPath, [script, ...args]),
        (err: { code: number; stderr: string }) => {
          assert.equal(err.code, 2, err.stderr);
          assert.match(err.stderr, message);
          assert.doesNotMatch(err.stderr, /\n\s+at /, 'no stack trace');
          return true;
        },
      );
    });
  }
}

describe('npm run bench: options', () => {
  refusesMistakes(path.join(distDir, 'tooling', 'bench', 'main.js'), [
    [['--steady', '3', '--burst-only'], /--steady and --burst-only: choose one/],
    [['--stream', '--burst-only'], /--burst-only and --stream: choose one/],
    [
      ['--designs', 'shipshape,nope'],
      /--designs: unknown design nope; choose from shipshape, sync, outbox/,
    ],
    [['--burst', '0'], /must be a whole number of at least 1, got "0"/],
    [['--stream', '--api-ceiling'], /--stream and --api-ceiling: choose one/],
    [['--outside-client', '--burst-only'], /--burst-only and --outside-client: choose one/],
    [['--api-ceiling', '--ceiling-clients', '16,0'], /must be whole numbers of at least 1/],
    [['--harness', 'docker'], /Allowed choices are user-run, in-process/],
    [['--api-key', 'root'], /Allowed choices are client, operator/],
    [['--url', 'http://127.0.0.1:1/orders'], /--url goes with --outside-client/],
    [['--stream', '--orders', '0'], /must be a whole number of at least 1, got "0"/],
    [['--sustained', '--stream'], /--stream and --sustained: choose one/],
    [['--sustained', '--runs', '0'], /must be a whole number of at least 1, got "0"/],
    [['--runs', '3'], /--runs goes with --sustained/],
  ]);
});

describe('npm run bench:engine: options', () => {
  refusesMistakes(path.join(distDir, 'tooling', 'bench', 'engine-floor', 'main.js'), [
    [
      ['--shapes', 'order-shaped,nope'],
      /--shapes: unknown shape nope; choose from start-and-complete, order-shaped, async-activity, update, signal-local/,
    ],
    [['--concurrency', '0'], /must be a whole number of at least 1, got "0"/],
  ]);
});
