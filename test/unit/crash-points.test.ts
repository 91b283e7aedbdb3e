import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/platform/config';
import { formatCrashPoints, parseCrashPoints } from '../../src/platform/crash-point-spec';
import { crashPoint, setCrashPointsForTest } from '../../src/platform/crash-points';

describe('crash points', () => {
  afterEach(() => setCrashPointsForTest([]));

  it('parses point, scope and count, each optional but the point', () => {
    assert.deepEqual(parseCrashPoints('service.after-commit-before-ack:inventory:3'), [
      { point: 'service.after-commit-before-ack', scope: 'inventory', nth: 3 },
    ]);
    assert.deepEqual(parseCrashPoints(' worker.before-publish , relay.before-publish:2 '), [
      { point: 'worker.before-publish', scope: undefined, nth: 1 },
      { point: 'relay.before-publish', scope: undefined, nth: 2 },
    ]);
    assert.deepEqual(parseCrashPoints(''), []);
    assert.deepEqual(parseCrashPoints(undefined), []);
  });

  it('formats rules back into the same setting', () => {
    const text = 'service.before-commit:payment:2,bridge.after-signal-before-ack:1';
    assert.equal(formatCrashPoints(parseCrashPoints(text)), text);
  });

  it('names what is wrong with a bad rule', () => {
    assert.throws(
      () => parseCrashPoints('service.befor-commit'),
      /unknown crash point "service.befor-commit".*known points: worker.before-publish/,
    );
    assert.throws(
      () => parseCrashPoints('service.before-commit:3:payment'),
      /the count comes last/,
    );
    assert.throws(
      () => parseCrashPoints('service.before-commit:Payment'),
      /"Payment" is neither a scope/,
    );
    assert.throws(() => parseCrashPoints('service.before-commit:0'), /from 1 to 1000000/);
    assert.throws(() => parseCrashPoints('service.before-commit:a:1:2'), /too many parts/);
  });

  it('is a setting of the configuration, refused there when bad', () => {
    assert.deepEqual(loadConfig({}).crashPoints, []);
    assert.deepEqual(
      loadConfig({ SHIPSHAPE_CRASH_POINTS: 'worker.after-publish:payment' }).crashPoints,
      [{ point: 'worker.after-publish', scope: 'payment', nth: 1 }],
    );
    assert.throws(
      () => loadConfig({ SHIPSHAPE_CRASH_POINTS: 'nowhere' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /SHIPSHAPE_CRASH_POINTS is not valid: unknown crash point "nowhere"/.test(err.message),
    );
  });

  it('does nothing when no rule names the point, or another scope', () => {
    setCrashPointsForTest(parseCrashPoints('service.before-commit:payment:1'));
    crashPoint('service.before-commit', 'inventory');
    crashPoint('service.after-commit-before-ack', 'payment');
    setCrashPointsForTest([]);
    for (let i = 0; i < 1000; i++) crashPoint('service.before-commit', 'payment');
  });

  it('kills its own process with SIGKILL on the n-th hit in its scope', () => {
    // A child process counts hits and reports each before the next: the third payment hit is its last.
    const script = `
      const { crashPoint } = require(${JSON.stringify(path.join(__dirname, '../../src/platform/crash-points.js'))});
      for (let i = 1; i <= 5; i++) {
        crashPoint('service.before-commit', 'inventory');
        crashPoint('service.before-commit', 'payment');
        process.stdout.write('survived ' + i + '\\n');
      }`;
    const r = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, SHIPSHAPE_CRASH_POINTS: 'service.before-commit:payment:3' },
      encoding: 'utf8',
    });
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.stdout, 'survived 1\nsurvived 2\n');
    assert.match(r.stderr, /crash point service.before-commit:payment reached \(hit 3\); SIGKILL/);
  });
});
