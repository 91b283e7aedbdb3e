import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import semver from 'semver';
import { projectRoot } from '../../src/platform/paths';
import type * as WithNode from '../../tooling/node/with-node.mjs' with {
  'resolution-mode': 'import',
};

const run = promisify(execFile);
const launcher = path.join(projectRoot, 'tooling', 'node', 'with-node.mjs');

const readJson = <T>(file: string) =>
  JSON.parse(readFileSync(path.join(projectRoot, file), 'utf8')) as T;
const engines = readJson<{ engines: { node: string } }>('package.json').engines.node;

describe('the Node.js releases Shipshape supports', () => {
  let withNode: typeof WithNode;
  before(async () => {
    // Plain JavaScript outside the build (it runs before it): loaded from the sources.
    withNode = (await import(pathToFileURL(launcher).href)) as typeof WithNode;
  });

  it('claims only releases every installed package accepts (package.json engines)', () => {
    const lock = readJson<{ packages: Record<string, { engines?: { node?: string } | string[] }> }>(
      'package-lock.json',
    );
    const refusing = Object.entries(lock.packages).flatMap(([name, p]) => {
      const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
      return range && !semver.subset(engines, range) ? [`${name} wants ${range}`] : [];
    });
    assert.deepEqual(refusing, [], `engines says ${engines}`);
  });

  it('tests on Node.js 24 LTS, which the engines accept; Node 20 (end of life) is not supported', () => {
    assert.equal(semver.major(withNode.NODE_VERSION), 24);
    assert.ok(semver.satisfies(withNode.NODE_VERSION, engines));
    assert.ok(!semver.satisfies('20.20.2', engines));
  });

  it('the launcher reads the engines range as semver does', () => {
    for (const version of [
      '20.20.2',
      '22.12.0',
      '22.13.0',
      '22.22.1',
      '23.11.0',
      '24.0.0',
      '26.1.0',
    ])
      assert.equal(
        withNode.satisfies(version, engines),
        semver.satisfies(version, engines),
        version,
      );
    assert.throws(() => withNode.satisfies('24.0.0', '~24'), /cannot read the engines range/);
  });

  it('runs a command on a node the engines accept as it is, with its exit code', async () => {
    const { stdout } = await run(process.execPath, [
      launcher,
      '--if-unsupported',
      'node',
      '-p',
      'process.version',
    ]);
    assert.ok(semver.satisfies(stdout.trim(), engines), stdout);
    await assert.rejects(
      run(process.execPath, [launcher, '--if-unsupported', 'node', '-e', 'process.exit(3)']),
      (err: { code?: number }) => err.code === 3,
    );
  });
});
