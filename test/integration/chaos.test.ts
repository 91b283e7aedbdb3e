import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/platform/paths';
import { besideTestStack, TEST_ENV } from '../support/env';

/**
 * The quick chaos campaign, as `npm run chaos -- --quick` runs it: its own stack next to the test
 * stack (the test stack's folder and port offset + 50), a fixed seed, a handful of fault kinds.
 * What a user checks: faults were injected, every order settled, and no invariant was violated.
 */
describe('chaos campaign (quick)', function () {
  this.timeout(15 * 60_000);

  it('injects faults and finds nothing lost, invented or done twice', async () => {
    const env = {
      ...TEST_ENV,
      SHIPSHAPE_STACK_DIR: `${TEST_ENV.SHIPSHAPE_STACK_DIR}-campaign`,
      SHIPSHAPE_PORT_OFFSET: besideTestStack('chaos'),
      LOG_LEVEL: 'info',
    };
    const child = spawn(
      process.execPath,
      [path.join(projectRoot, 'dist/tooling/chaos/main.js'), '--quick', '--seed', '7', '--json'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const why = `exit ${code}\n--- report ---\n${stdout}\n--- progress (tail) ---\n${stderr.split('\n').slice(-40).join('\n')}`;
    const last = stdout.trim().split('\n').pop() ?? '';
    let summary: {
      orders: number;
      faultsInjected: number;
      violations: number;
      convergeSeconds: number | null;
      byFault: Record<string, { injected: number }>;
    };
    try {
      summary = JSON.parse(last) as typeof summary;
    } catch {
      assert.fail(`no JSON summary on the last line\n${why}`);
    }
    assert.equal(summary.violations, 0, why);
    assert.equal(code, 0, why);
    assert.ok(
      summary.faultsInjected >= 5,
      `only ${summary.faultsInjected} faults injected\n${why}`,
    );
    assert.ok(Object.keys(summary.byFault).length >= 5, why);
    assert.ok(summary.orders >= 20, `only ${summary.orders} orders\n${why}`);
    assert.notEqual(summary.convergeSeconds, null, why);
  });
});
