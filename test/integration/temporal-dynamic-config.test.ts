import assert from 'node:assert/strict';
import { localTlsDir } from '../../src/platform/security/local-certificates';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { temporalServerBinaries } from '../../tooling/stack/binaries';
import { dynamicConfigProblems } from '../../tooling/stack/dynamic-config';
import { TemporalCluster } from '../../tooling/stack/temporal-cluster';
import { DEPLOYMENT_DYNAMIC_CONFIG } from '../../tooling/stack/temporal-node';
import { testConfig } from '../support/env';

/**
 * deploy/temporal/dynamicconfig.yaml is what the deployment's Temporal servers load, and what the
 * local cluster loads as it is. The server only warns about a key it does not know (a misspelt
 * setting is silently not applied), so the file is checked with the server's own validator, and the
 * local cluster refuses to start on a file it reports. (That a running node applied every key of
 * the file is checked from the nodes' logs in test/integration/stack.test.ts.)
 */
describe("Temporal's dynamic config: the deployment's file, checked by the server it configures", function () {
  this.timeout(15 * 60_000); // a first run builds the Temporal server
  const config = testConfig();
  let server: string;
  let dir: string;
  const withLines = (name: string, extra: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, `${readFileSync(DEPLOYMENT_DYNAMIC_CONFIG, 'utf8')}\n${extra}\n`);
    return file;
  };

  before(async () => {
    ({ server } = await temporalServerBinaries(config.stack.binCacheDir, (l) =>
      process.stderr.write(`[build] ${l}\n`),
    ));
    dir = mkdtempSync(path.join(os.tmpdir(), 'shipshape-dynconfig-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('finds nothing wrong with the deployment’s file', async () => {
    assert.deepEqual(await dynamicConfigProblems(server, DEPLOYMENT_DYNAMIC_CONFIG), []);
  });

  it('reports an unknown key and a value of the wrong type, by name', async () => {
    const unknown = withLines(
      'unknown.yaml',
      'history.transferProcessorMaxPollRps2:\n  - value: 1',
    );
    assert.deepEqual(await dynamicConfigProblems(server, unknown), [
      'warning: unregistered key "history.transferprocessormaxpollrps2"',
    ]);
    const wrongType = path.join(dir, 'wrong-type.yaml');
    writeFileSync(wrongType, 'matching.numTaskqueueReadPartitions:\n  - value: eight\n');
    const [problem, ...more] = await dynamicConfigProblems(server, wrongType);
    assert.match(problem ?? '', /matching\.numtaskqueuereadpartitions.*not int/);
    assert.deepEqual(more, []);
  });

  it('keeps a cluster from starting on a file with an unknown key, and says which', async () => {
    const ports = config.stack.ports;
    const cluster = new TemporalCluster({
      dir: path.join(dir, 'cluster'),
      basePort: ports.temporalCluster + 20,
      frontendPort: ports.temporalCluster + 40,
      binCacheDir: config.stack.binCacheDir,
      tlsDir: localTlsDir(config.stack.dir),
      postgres: { stackDir: config.stack.dir, port: ports.postgres },
      database: 'temporal_never_made',
      namespace: config.temporal.namespace,
      dynamicConfigFile: withLines(
        'misspelt.yaml',
        'system.enableActivityEagerExecutionn:\n  - value: true',
      ),
    });
    await assert.rejects(
      cluster.start(),
      /unregistered key "system\.enableactivityeagerexecutionn"/,
    );
    assert.ok(
      cluster.nodes.every((n) => cluster.pidOf(n.index) === undefined),
      'no node was started',
    );
  });
});
