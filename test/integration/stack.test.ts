import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { parse } from 'yaml';
import { loadConfig } from '../../src/platform/config';
import { projectRoot } from '../../src/platform/paths';
import { isAlive, portAnswers } from '../../tooling/stack/process';
import { stackTemporalCluster } from '../../tooling/stack/stack';
import type { ServerStatus } from '../../tooling/stack/stack';
import { DEPLOYMENT_DYNAMIC_CONFIG, HISTORY_SHARDS } from '../../tooling/stack/temporal-node';
import { missingSearchAttributes } from '../../src/platform/temporal/search-attributes';
import { besideTestStack, TEST_ENV, testConfig } from '../support/env';

const run = promisify(execFile);
const cli = path.join(projectRoot, 'bin', 'shipshape.js');

describe('shipshape stack up|down|status (its own data folder and ports)', function () {
  this.timeout(180_000);
  // A second stack beside the test stack (150 ports above it, clear of the campaign's +50), so
  // `down` here cannot stop what other tests use.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SHIPSHAPE_STACK_DIR: `${TEST_ENV.SHIPSHAPE_STACK_DIR}-stack`,
    SHIPSHAPE_PORT_OFFSET: besideTestStack('stack'),
  };
  delete env.DATABASE_URL;
  delete env.SHIPSHAPE_TEMPORAL;
  const ports = loadConfig(env).stack.ports;
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
    assert.ok(await portAnswers(ports.temporal), 'Temporal answers on its offset port');
    assert.ok(await portAnswers(ports.nats), 'NATS answers on its offset port');
    assert.ok(await portAnswers(ports.postgres), 'PostgreSQL answers on its offset port');

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
    // Other stacks are untouched: the test stack still answers.
    assert.ok(await portAnswers(testConfig().stack.ports.temporal), 'the test stack is still up');
  });

  it('runs Temporal as two nodes behind one address with --temporal cluster, on the deployment’s dynamic config', async function () {
    this.timeout(15 * 60_000); // a first run builds the Temporal server and its UI
    const up = JSON.parse(
      (await shipshape('stack', 'up', '--temporal', 'cluster', '--json')).stdout,
    ) as ServerStatus[];
    assert.deepEqual(
      up.map((s) => s.name),
      ['temporal', 'temporal-1', 'temporal-2', 'temporal-ui', 'ui-gate', 'nats', 'postgres'],
    );
    assert.ok(
      up.every((s) => s.running && s.pid !== null),
      JSON.stringify(up),
    );
    const temporal = up[0]!;
    assert.equal(temporal.address, `127.0.0.1:${ports.temporal}`, 'the usual Temporal address');

    // Each node on its own knows the namespace and the app's search attributes, and owns shards
    // that add up to every shard: they share one membership ring.
    const config = loadConfig(env);
    const cluster = stackTemporalCluster(config);
    for (const node of cluster.nodes) {
      // The nodes want a client certificate: the setup step's.
      const c = await Connection.connect({
        address: node.address,
        tls: cluster.clientTls('admin'),
      });
      try {
        assert.deepEqual(await missingSearchAttributes(c, config.temporal.namespace), []);
      } finally {
        await c.close();
      }
    }
    const owned = await cluster.shardsOwned();
    assert.equal(
      owned.reduce<number>((a, n) => a + (n ?? 0), 0),
      HISTORY_SHARDS,
      `shards per node ${owned.join(', ')}`,
    );

    // Every node applied every setting of the deployment's file and warned about none.
    const keys = Object.keys(
      parse(readFileSync(DEPLOYMENT_DYNAMIC_CONFIG, 'utf8')) as Record<string, unknown>,
    );
    for (const node of cluster.nodes) {
      const log = readFileSync(node.logFile, 'utf8');
      for (const key of keys)
        assert.ok(
          log.includes(`dynamic config changed for the key: ${key.toLowerCase()} `),
          `${node.name} applied ${key}`,
        );
      assert.doesNotMatch(log, /dynamic config warning/, `${node.name} warned`);
    }
    assert.ok(await portAnswers(ports.temporalUi), 'the Temporal UI (its gate) answers');

    // The other mode is refused while this one runs, with the way out.
    await assert.rejects(
      shipshape('stack', 'up', '--temporal', 'dev'),
      (e: { code: number; stderr: string }) =>
        e.code === 4 && /runs a Temporal cluster; stop it first/.test(e.stderr),
    );
    const text = (await shipshape('stack', 'status')).stdout;
    for (const name of ['temporal', 'temporal-1', 'temporal-2', 'temporal-ui', 'ui-gate'])
      assert.match(text, new RegExp(`^${name}\\s+running`, 'm'));

    await shipshape('stack', 'down');
    for (const s of up) assert.equal(isAlive(s.pid!), false, `${s.name} (pid ${s.pid}) still runs`);
  });

  it('says what a bad --temporal is', async () => {
    await assert.rejects(
      shipshape('stack', 'up', '--temporal', 'kubernetes'),
      (e: { code: number; stderr: string }) =>
        e.code === 2 && /--temporal must be one of dev, cluster, got "kubernetes"/.test(e.stderr),
    );
  });
});
