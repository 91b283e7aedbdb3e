import assert from 'node:assert/strict';
import {
  BuildProgress,
  formatElapsed,
  isCompiledPackage,
  plannedCompiles,
} from '../../tooling/stack/build-progress';
import type { ProgressOutput } from '../../tooling/stack/build-progress';

/** A clock the test moves, and what the progress printed: raw terminal text and log lines. */
function harness(tty: boolean) {
  let now = 1_000_000;
  const printed = { raw: '', lines: [] as string[] };
  const out: ProgressOutput = {
    tty,
    write: (text) => (printed.raw += text),
    log: (line) => printed.lines.push(line),
  };
  const progress = new BuildProgress('temporal', out, () => now);
  /** Moves the clock by `seconds`, ticking each second as the build's timer does. */
  const wait = (seconds: number) => {
    for (let i = 0; i < seconds; i++) {
      now += 1000;
      progress.tick();
    }
  };
  return { progress, printed, wait };
}

describe('the progress of building the stack’s binaries', () => {
  it('counts the packages a dry run would compile, and those `go install -v` names', () => {
    const dryRun = [
      'mkdir -p $WORK/b003/',
      'cat >$WORK/b003/importcfg << EOF # internal',
      'packagefile internal/abi=$WORK/b006/_pkg_.a',
      'EOF',
      '/usr/local/go/pkg/tool/linux_amd64/compile -o $WORK/b003/_pkg_.a -p encoding -std',
      'cd /root/go/pkg/mod/go.temporal.io/sdk@v1.35.0',
      '/usr/local/go/pkg/tool/linux_amd64/compile -o $WORK/b101/_pkg_.a -p go.temporal.io/sdk/client',
      '/usr/local/go/pkg/tool/linux_amd64/link -o $WORK/b001/exe/a.out',
    ].join('\n');
    assert.equal(plannedCompiles(dryRun), 2);
    for (const pkg of [
      'runtime',
      'internal/abi',
      'github.com/nats-io/nats-server/v2/server',
      'go.temporal.io/api/v1',
      'gopkg.in/yaml.v3',
    ])
      assert.ok(isCompiledPackage(pkg), pkg);
    for (const message of [
      'go: downloading github.com/temporalio/cli v1.5.1',
      '# github.com/temporalio/cli/temporalcli',
      'temporalcli/commands.go:12:2: undefined: x',
      '',
    ])
      assert.ok(!isCompiledPackage(message), message);
  });

  it('says how long it took in seconds, then minutes and seconds', () => {
    assert.equal(formatElapsed(42_400), '42 s');
    assert.equal(formatElapsed(350_000), '5 min 50 s');
    assert.equal(formatElapsed(60_000), '1 min 00 s');
  });

  it('rewrites one line on a terminal: modules first, then packages done of those planned, then the total', () => {
    const { progress, printed, wait } = harness(true);
    wait(2);
    assert.equal(
      printed.raw,
      '\r\x1b[Kbuilding temporal: fetching modules, listing packages… 1 s' +
        '\r\x1b[Kbuilding temporal: fetching modules, listing packages… 2 s',
    );
    printed.raw = '';
    progress.compilingStarts(1298);
    for (let i = 0; i < 649; i++) progress.packageCompiled();
    wait(1);
    assert.equal(printed.raw, '\r\x1b[Kbuilding temporal: package 649 of 1298 (50%)… 3 s');
    for (let i = 0; i < 649; i++) progress.packageCompiled();
    wait(347);
    printed.raw = '';
    progress.finish(true);
    assert.equal(printed.raw, '\r\x1b[K', 'the progress line is cleared');
    assert.deepEqual(printed.lines, ['built temporal in 5 min 50 s (1298 packages compiled)']);
  });

  it('writes a line every five seconds in a log, and the total at the end', () => {
    const { progress, printed, wait } = harness(false);
    wait(4);
    assert.deepEqual(printed.lines, [], 'nothing before five seconds');
    wait(1);
    progress.compilingStarts(249);
    for (let i = 0; i < 100; i++) progress.packageCompiled();
    wait(5);
    progress.packageCompiled();
    wait(3);
    progress.finish(true);
    assert.equal(printed.raw, '', 'no terminal codes in a log');
    assert.deepEqual(printed.lines, [
      'building temporal: fetching modules, listing packages… 5 s',
      'building temporal: package 100 of 249 (40%)… 10 s',
      'built temporal in 13 s (101 packages compiled)',
    ]);
  });

  it('counts without a plan when the dry run failed, and leaves the end to the error on failure', () => {
    const { progress, printed, wait } = harness(false);
    progress.compilingStarts(undefined);
    progress.packageCompiled();
    wait(5);
    progress.finish(false);
    assert.deepEqual(printed.lines, ['building temporal: package 1… 5 s']);
  });
});
