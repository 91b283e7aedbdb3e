import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/platform/paths';
import type { DemoResult } from '../../tooling/cli/demo';
import { TEST_ENV } from '../support/env';

const run = promisify(execFile);

describe('shipshape demo --once (every process as its own child, as `npm run demo` runs them)', function () {
  this.timeout(240_000);

  it('places a batch over HTTP and reports how each order ended, with its Temporal UI link', async () => {
    const { stdout, stderr } = await run(
      'node',
      [
        path.join(projectRoot, 'bin', 'shipshape.js'),
        'demo',
        '--once',
        '--orders',
        '6',
        '--declined',
        '2',
        '--json',
      ],
      { env: { ...TEST_ENV, LOG_LEVEL: 'info' }, cwd: projectRoot, maxBuffer: 16 * 1024 * 1024 },
    );
    const result = JSON.parse(stdout) as DemoResult;
    assert.equal(result.orders.length, 6, stderr);
    assert.deepEqual(result.byStatus, { FAILED: 3, COMPLETED: 3 });
    const [d1, d2, ok3, ok4, ok5, short] = result.orders;
    for (const d of [d1!, d2!]) assert.equal(d.steps?.payment.detail, 'card_declined');
    for (const o of [ok3!, ok4!, ok5!]) assert.equal(o.status, 'COMPLETED');
    assert.equal(short!.steps?.inventory.detail, 'out_of_stock');
    for (const o of result.orders)
      assert.match(
        o.links.temporalUi,
        /^http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/order-demo-/,
      );
    assert.match(stderr, /all 6 orders finished/);
  });
});
