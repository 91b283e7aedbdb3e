import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { projectRoot } from '../../src/platform/paths';
import { isAlive, portAnswers } from '../../tooling/stack/process';
import type { ServerStatus } from '../../tooling/stack/stack';
import { testConfig } from '../support/env';

const run = promisify(execFile);
const cli = path.join(projectRoot, 'bin', 'shipshape.js');

describe('shipshape stack up|down|status (its own data folder and ports)', function () {
  this.timeout(180_000);
  // A second stack beside the test stack, so `down` here cannot stop what other tests use.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SHIPSHAPE_STACK_DIR: '.shipshape-test-stack',
    SHIPSHAPE_PORT_OFFSET: '200',
  };
  delete env.DATABASE_URL;
  const shipshape = async (...args: string[]) =>
    run('node', [cli, ...args], { env, cwd: projectRoot });
  const status = async () =>
    JSON.parse(
      (await shipshape('stack', 'status', '--json').catch((e: { stdout: string }) => e)).stdout,
    ) as ServerStatus[];

  after(async () => {
    await shipshape('stack', 'down').catch(() => undefined);
  });

  it('brings every server up, is harmless the second time, and reports each one', async () => {
    const first = JSON.parse((await shipshape('stack', 'up', '--json')).stdout) as ServerStatus[];
    assert.deepEqual(
      first.map((s) => s.name),
      ['temporal', 'nats', 'postgres'],
    );
    assert.ok(
      first.every((s) => s.running && s.pid !== null),
      JSON.stringify(first),
    );
    assert.ok(await portAnswers(17433), 'Temporal answers on its offset port');
    assert.ok(await portAnswers(14422), 'NATS answers on its offset port');
    assert.ok(await portAnswers(15632), 'PostgreSQL answers on its offset port');

    const second = JSON.parse((await shipshape('stack', 'up', '--json')).stdout) as ServerStatus[];
    assert.deepEqual(
      second.map((s) => s.pid),
      first.map((s) => s.pid),
      'the second up starts nothing new',
    );

    const text = (await shipshape('stack', 'status')).stdout;
    for (const name of ['temporal', 'nats', 'postgres'])
      assert.match(text, new RegExp(`^${name}\\s+running`, 'm'));
  });

  it('stops only its own servers on down, and status then says so', async () => {
    const before = await status();
    await shipshape('stack', 'down');
    for (const s of before)
      assert.equal(isAlive(s.pid!), false, `${s.name} (pid ${s.pid}) still runs`);
    const after = await status();
    assert.ok(
      after.every((s) => !s.running && s.pid === null),
      JSON.stringify(after),
    );
    // The system's own services, if any, are untouched: the test stack (on its own offset) still answers.
    assert.ok(await portAnswers(testConfig().stack.ports.temporal), 'the test stack is still up');
  });
});
