import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/client';
import { loadConfig } from '../../src/platform/config';
import type { Config } from '../../src/platform/config';
import { createLogger } from '../../src/platform/logger';
import { projectRoot } from '../../src/platform/paths';
import { localTlsDir } from '../../src/platform/security/local-certificates';
import { readLocalSecrets } from '../../src/platform/security/local-secrets';
import { connectTemporalClient } from '../../src/platform/temporal/client';
import { temporalTls } from '../../src/platform/temporal/connection';
import { waitFor } from '../../src/platform/wait';
import { startCodecServer } from '../../src/processes/codec-server';
import { prepareInfrastructure } from '../../src/processes/setup';
import { processesToRun, Supervisor } from '../../src/processes/supervisor';
import { TEMPORAL_IDENTITIES } from '../../src/processes/table';
import { natsBinary } from '../../tooling/stack/binaries';
import { CertificateAuthority, LOOPBACK_NAMES } from '../../tooling/stack/certificates';
import {
  CLUSTER_ROUTE_USER,
  clusterNodeConfig,
  natsClusterBasePort,
  startNatsCluster,
} from '../../tooling/stack/nats-cluster';
import type { NatsCluster, NatsNode } from '../../tooling/stack/nats-cluster';
import { spawnDetached, stopPid } from '../../tooling/stack/process';
import { stackTemporalCluster } from '../../tooling/stack/stack';
import { besideTestStack, TEST_ENV, uniqueId } from '../support/env';
import { hasStatus, http, orderBody, waitForOrder } from '../support/harness';

const run = promisify(execFile);
const cli = path.join(projectRoot, 'bin', 'shipshape.js');

/** True when a gRPC call through `tls` fails: the frontend did not let the caller in. */
async function refused(address: string, tls: TLSConfig | undefined): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, tls, connectTimeout: 1500 });
    await connection.workflowService.getSystemInfo({});
    return false;
  } catch {
    return true;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

/**
 * The deployment's boundaries, live on the local cluster mode (`shipshape stack up --temporal cluster`
 * and the three-node NATS cluster the chaos campaign's `--cluster` runs), which runs the settings
 * docker-compose.yml describes: whoever lacks the credential a boundary wants is refused, and every
 * process of the app crosses the ones it needs with its own.
 */
describe('a deployment safe as shipped, live on the local cluster', function () {
  this.timeout(15 * 60_000);
  // A stack of its own, 200 ports above the test stack (clear of the campaign's +50 and stack.test's +150).
  const env: NodeJS.ProcessEnv = {
    ...TEST_ENV,
    SHIPSHAPE_STACK_DIR: `${TEST_ENV.SHIPSHAPE_STACK_DIR}-deploy`,
    SHIPSHAPE_PORT_OFFSET: besideTestStack('deployment'),
  };
  delete env.DATABASE_URL;
  delete env.SHIPSHAPE_TEMPORAL;
  const shipshape = (...args: string[]) => run('node', [cli, ...args], { env, cwd: projectRoot });
  let config: Config;
  let scratch: string;
  let foreign: CertificateAuthority;
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);

  before(async function () {
    this.timeout(15 * 60_000); // a first run builds the Temporal server and its UI
    await shipshape('stack', 'up', '--temporal', 'cluster');
    config = loadConfig(env);
    await prepareInfrastructure(config);
    scratch = mkdtempSync(path.join(os.tmpdir(), 'shipshape-boundaries-'));
    // Someone else's CA: a certificate it issued must count for nothing here.
    foreign = new CertificateAuthority(path.join(scratch, 'foreign-ca'), 'Not Shipshape');
  });
  after(async function () {
    this.timeout(120_000);
    await shipshape('stack', 'down').catch(() => undefined);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${lines.join('\n')}\n`);
  });

  it("refuses a Temporal client without a certificate of the stack's CA, on every node", async () => {
    const cluster = stackTemporalCluster(config);
    const stranger = foreign.issue({ name: 'stranger', commonName: 'api', use: 'client' });
    const ours = temporalTls(config, 'api')!;
    const strangerTls: TLSConfig = {
      serverNameOverride: ours.serverNameOverride!,
      serverRootCACertificate: ours.serverRootCACertificate!,
      clientCertPair: {
        crt: readFileSync(stranger.certFile),
        key: readFileSync(stranger.keyFile),
      },
    };
    for (const address of [cluster.address, ...cluster.nodes.map((n) => n.address)]) {
      assert.ok(await refused(address, undefined), `${address} refuses a plain connection`);
      assert.ok(
        await refused(address, { serverNameOverride: ours.serverNameOverride! }),
        `${address} refuses TLS without a client certificate`,
      );
      assert.ok(
        await refused(address, strangerTls),
        `${address} refuses a certificate another CA issued`,
      );
    }
    // Every identity that talks to Temporal gets through with its own certificate.
    for (const identity of TEMPORAL_IDENTITIES) {
      const tls = temporalTls(config, identity);
      assert.ok(tls?.clientCertPair, `${identity} has a certificate of its own`);
      assert.equal(await refused(cluster.address, tls), false, `${identity} gets through`);
    }
  });

  it('runs every process of the app on the cluster, each with its own certificate, and completes an order', async function () {
    this.timeout(10 * 60_000);
    const supervisor = new Supervisor({
      config,
      env: { ...env, LOG_LEVEL: 'warn' },
      log,
      names: processesToRun(config),
      restart: false,
      readyTimeoutMs: 300_000,
    });
    try {
      await supervisor.startAll();
      const api = {
        apiUrl: `http://127.0.0.1:${config.api.port}`,
        apiKey: readLocalSecrets(config.stack.dir)!.apiKeys.operator,
      };
      const sku = uniqueId('sku');
      assert.equal((await http(api, 'PUT', `/inventory/${sku}`, { available: 1 })).status, 200);
      const orderId = uniqueId('boundaries');
      const placed = await http(
        api,
        'POST',
        '/orders',
        orderBody({ orderId, customerId: 'c', sku, quantity: 1 }),
      );
      assert.equal(placed.status, 202, JSON.stringify(placed.body));
      const done = await waitForOrder(api, orderId, hasStatus('COMPLETED'), 240_000);
      assert.equal(done.status, 'COMPLETED');
    } finally {
      await supervisor.stopAll(10_000);
    }
  });

  it('lets only signed-in people through to the Temporal UI, and only operators act on runs', async () => {
    const keys = readLocalSecrets(config.stack.dir)!.apiKeys;
    const ui = config.temporal.uiUrl;
    // A run with no worker: it stays open until someone terminates it.
    const temporal = await connectTemporalClient(config, 'cli');
    const workflowId = uniqueId('ui-gate');
    const handle = await temporal.workflow.start('nothing', {
      taskQueue: uniqueId('no-worker'),
      workflowId,
    });
    const terminate = `${ui}/api/v1/namespaces/${config.temporal.namespace}/workflows/${workflowId}/terminate`;
    const signIn = async (key: string) => {
      const res = await fetch(`${ui}/signin`, {
        method: 'POST',
        body: new URLSearchParams({ key }),
        redirect: 'manual',
      });
      assert.equal(res.status, 303, 'signed in');
      const session = res.headers.get('set-cookie')!.split(';')[0]!;
      // The UI server's CSRF token comes with any page; the UI sends it back with each write.
      const page = await fetch(`${ui}/api/v1/settings`, { headers: { cookie: session } });
      assert.equal(page.status, 200);
      const csrf = /_csrf=([^;]+)/.exec(page.headers.get('set-cookie') ?? '')![1]!;
      return { cookie: `${session}; _csrf=${csrf}`, 'x-csrf-token': csrf };
    };
    const post = (headers: Record<string, string>) =>
      fetch(terminate, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'boundary test' }),
      });
    try {
      const page = await fetch(`${ui}/namespaces/default/workflows`, { redirect: 'manual' });
      assert.equal(page.status, 303, 'a page without a session sends the person to sign in');
      assert.equal(page.headers.get('location'), '/signin');
      assert.equal((await fetch(`${ui}/api/v1/settings`)).status, 401);
      assert.equal((await post({})).status, 401, 'no session, no terminate');
      const wrong = await fetch(`${ui}/signin`, {
        method: 'POST',
        body: new URLSearchParams({ key: `${keys.operator}x` }),
        redirect: 'manual',
      });
      assert.equal(wrong.status, 401, 'an unknown key signs no one in');

      const reader = await signIn(keys.client);
      const list = await fetch(
        `${ui}/api/v1/namespaces/${config.temporal.namespace}/workflows?query=${encodeURIComponent(`WorkflowId="${workflowId}"`)}`,
        { headers: reader },
      );
      assert.equal(list.status, 200, 'a reader reads, through the UI server’s own certificate');
      const refusedWrite = await post(reader);
      assert.equal(refusedWrite.status, 403);
      assert.match(await refusedWrite.text(), /lacks the scope \\"operate\\"/);
      assert.equal((await handle.describe()).status.name, 'RUNNING');

      const operator = await signIn(keys.operator);
      const done = await post(operator);
      assert.equal(done.status, 200, await done.text());
      assert.equal((await handle.describe()).status.name, 'TERMINATED');
    } finally {
      await handle.terminate().catch(() => undefined);
      await temporal.connection.close();
    }
  });

  it('routes the NATS cluster only between nodes that show the route certificate', async () => {
    const tlsDir = localTlsDir(config.stack.dir);
    let cluster: NatsCluster | undefined;
    const rogues: number[] = [];
    try {
      cluster = await startNatsCluster({
        dir: path.join(config.stack.dir, 'nats-cluster'),
        basePort: natsClusterBasePort(config.stack.ports.nats),
        binCacheDir: config.stack.binCacheDir,
        tlsDir,
        fresh: true,
        log,
      });
      const routez = async (port: number) =>
        (await (await fetch(`http://127.0.0.1:${port}/routez`)).json()) as {
          num_routes: number;
          routes?: { remote_name?: string }[];
        };
      const peers = async (node: NatsNode) =>
        new Set(((await routez(node.monitorPort)).routes ?? []).map((r) => r.remote_name));
      for (const node of cluster.nodes)
        assert.equal((await peers(node)).size, 2, `${node.name} routes to both others`);

      // Two strangers dial node 1's route port: one without TLS, one over TLS with a certificate of
      // the same CA but another subject than the route's. Neither joins.
      const bin = await natsBinary(config.stack.binCacheDir, log);
      const ca = new CertificateAuthority(tlsDir, 'Shipshape local CA');
      const impostorCert = ca.issue({
        name: 'nats-impostor',
        commonName: 'nats-impostor',
        use: 'both',
        ...LOOPBACK_NAMES,
      });
      const target = cluster.nodes[0]!;
      const plain = stranger('plain', config.stack.ports.nats + 60);
      const impostor = stranger('impostor', config.stack.ports.nats + 63);
      const strangers: { node: NatsNode; conf: string; turnedAway: RegExp }[] = [
        {
          node: plain,
          conf: [
            `server_name: ${plain.name}`,
            `listen: 127.0.0.1:${plain.clientPort}`,
            `http: 127.0.0.1:${plain.monitorPort}`,
            `cluster { name: shipshape, listen: 127.0.0.1:${plain.routePort}, routes: [nats-route://127.0.0.1:${target.routePort}] }`,
          ].join('\n'),
          turnedAway: /TLS route handshake error/,
        },
        {
          node: impostor,
          conf: clusterNodeConfig(impostor, [target], { ...impostorCert, caFile: ca.certFile }),
          turnedAway: /authentication error/,
        },
      ];
      for (const { node, conf, turnedAway } of strangers) {
        writeFileSync(node.configFile, conf);
        rogues.push(spawnDetached(bin, ['-c', node.configFile], node.logFile, scratch));
        // The node it dials says why it turned the stranger away.
        await waitFor(`${target.name} to turn the ${node.name} stranger away`, () =>
          turnedAway.test(readFileSync(target.logFile, 'utf8')),
        );
        assert.equal((await routez(node.monitorPort)).num_routes, 0, `${node.name} has no route`);
        const known = await peers(target);
        assert.ok(!known.has(node.name), `${target.name} routes to ${[...known].join(', ')}`);
      }
      assert.match(
        readFileSync(target.configFile, 'utf8'),
        new RegExp(`user: "${CLUSTER_ROUTE_USER}"`),
      );
    } finally {
      await Promise.all(rogues.map((pid) => stopPid(pid, 'a stranger node')));
      await cluster?.stop();
    }

    /** A fourth node's ports, clear of the cluster's own (client, route, monitoring). */
    function stranger(name: string, base: number): NatsNode {
      return {
        index: 3,
        name,
        clientPort: base,
        routePort: base + 1,
        monitorPort: base + 2,
        url: `nats://127.0.0.1:${base}`,
        dir: path.join(scratch, name),
        configFile: path.join(scratch, `${name}.conf`),
        logFile: path.join(scratch, `${name}.log`),
        pid: undefined,
      };
    }
  });

  it('serves the codec over TLS to holders of a codec key only', async () => {
    const ca = new CertificateAuthority(localTlsDir(config.stack.dir), 'Shipshape local CA');
    const cert = ca.issue({
      name: 'codec-server',
      commonName: 'codec-server',
      use: 'server',
      ...LOOPBACK_NAMES,
    });
    const codec = await startCodecServer(
      { ...config, codecServer: { port: 0, tls: cert } },
      createLogger('codec-test', 'fatal'),
    );
    const keys = readLocalSecrets(config.stack.dir)!.apiKeys;
    const decode = (key: string | undefined) =>
      new Promise<number>((resolve, reject) => {
        const req = https.request(
          {
            host: '127.0.0.1',
            servername: 'localhost',
            port: codec.port,
            path: '/codec/decode',
            method: 'POST',
            ca: readFileSync(ca.certFile),
            headers: {
              'content-type': 'application/json',
              ...(key ? { authorization: `Bearer ${key}` } : {}),
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ payloads: [] }));
      });
    try {
      assert.match(codec.url, /^https:/);
      assert.equal(await decode(keys.operator), 200);
      assert.equal(await decode(undefined), 401);
      assert.equal(await decode(keys.client), 403, 'the client key has no codec scope');
      await assert.rejects(
        fetch(`http://127.0.0.1:${codec.port}/codec/decode`, { method: 'POST', body: '{}' }),
        'plain HTTP gets no answer',
      );
    } finally {
      await codec.stop();
    }
  });
});
