import assert from 'node:assert/strict';
import { parseOptions, UsageError } from '../../tooling/release-drill/options';
import { tally, tallyRows } from '../../tooling/release-drill/tally';

describe('release drill', () => {
  describe('options', () => {
    it('holds 200 orders, places a tenth of them at each step, providers at 1 s', () => {
      assert.deepEqual(parseOptions([]), {
        orders: 200,
        perStep: 20,
        latencyMs: 1000,
        temporal: 'dev',
        json: false,
        help: false,
      });
    });

    it('places at least 10 orders a step, or as many as asked', () => {
      assert.equal(parseOptions(['--orders', '20']).perStep, 10);
      assert.equal(parseOptions(['--orders', '20', '--per-step', '3']).perStep, 3);
    });

    it('runs on the dev server unless asked for the cluster, and names the modes it knows', () => {
      assert.equal(parseOptions(['--temporal', 'cluster']).temporal, 'cluster');
      assert.throws(
        () => parseOptions(['--temporal', 'kubernetes']),
        /--temporal needs one of dev, cluster/,
      );
      assert.throws(() => parseOptions(['--temporal']), /--temporal needs one of/);
    });

    it('refuses an unknown option, and a count that is not a whole number of 1 or more', () => {
      assert.throws(() => parseOptions(['--order', '5']), /unknown option --order/);
      for (const bad of [['--orders', '0'], ['--latency', '1.5'], ['--per-step']])
        assert.throws(
          () => parseOptions(bad),
          (err: Error) => err instanceof UsageError,
        );
    });
  });

  describe('tally', () => {
    it('counts per phase and build where orders started and where they completed', () => {
      const t = tally([
        { orderId: '1', phase: 'release', startedOn: 'A', completedOn: 'A' },
        { orderId: '2', phase: 'release', startedOn: 'B' },
        { orderId: '3', phase: 'recovery', startedOn: 'D', completedOn: 'B' },
        { orderId: '4', phase: 'recovery', startedOn: 'B', completedOn: 'B' },
      ]);
      assert.deepEqual(t, [
        {
          phase: 'release',
          builds: { A: { started: 1, completed: 1 }, B: { started: 1, completed: 0 } },
          notCompleted: 1,
        },
        {
          phase: 'recovery',
          builds: { B: { started: 1, completed: 2 }, D: { started: 1, completed: 0 } },
          notCompleted: 0,
        },
      ]);
      assert.deepEqual(tallyRows(t), [
        ['release', 'A', '1', '1'],
        ['release', 'B', '1', '0'],
        ['recovery', 'B', '1', '2'],
        ['recovery', 'D', '1', '0'],
      ]);
    });
  });
});
