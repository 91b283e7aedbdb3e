import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { distDir } from '../../src/paths';

const run = promisify(execFile);
const bench = path.join(distDir, 'bench', 'main.js');

/** The benchmark refuses a mistaken command line before it starts anything, naming the mistake. */
describe('npm run bench: options', () => {
  for (const [args, message] of [
    [['--steady', '3', '--burst-only'], /--steady and --burst-only: choose one/],
    [
      ['--designs', 'shipshape,nope'],
      /--designs: unknown design nope; choose from shipshape, sync, outbox/,
    ],
    [['--burst', '0'], /must be a whole number of at least 1, got "0"/],
  ] as const) {
    it(`refuses ${args.join(' ')}`, async () => {
      await assert.rejects(
        run(process.execPath, [bench, ...args]),
        (err: { code: number; stderr: string }) => {
          assert.equal(err.code, 2, err.stderr);
          assert.match(err.stderr, message);
          assert.doesNotMatch(err.stderr, /\n\s+at /, 'no stack trace');
          return true;
        },
      );
    });
  }
});
