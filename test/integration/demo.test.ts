import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/platform/paths';
import type { DemoResult } from '../../tooling/cli/demo';
import { TEST_ENV, testConfig } from '../support/env';
import { temporalCli } from '../support/temporal-cli';

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
    // Each order ran on the demo's Worker Deployment Version, as Temporal's own CLI shows it.
    const version =
      /new orders start on Worker Deployment Version shipshape\.(wf-[0-9a-f]{16})/.exec(stderr);
    assert.ok(version, stderr);
    const temporal = await temporalCli(testConfig());
    for (const o of result.orders) {
      const { stdout: described } = await temporal(
        'workflow',
        'describe',
        '--workflow-id',
        `order-${o.orderId}`,
      );
      const versioning = described.slice(described.indexOf('Versioning Info:'));
      assert.match(versioning, /Behavior\s+Pinned\n/);
      assert.match(versioning, /DeploymentName\s+shipshape\n/);
      assert.match(versioning, new RegExp(`BuildId\\s+${version[1]}\\n`));
    }
  });
});
