import assert from 'node:assert/strict';
import { localTlsDir, temporalClientFiles } from '../../src/platform/security/local-certificates';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Pool } from '../../src/platform/db/pool';
import { createPool } from '../../src/platform/db/pool';
import { TERMINAL_STATUSES } from '../../src/domain/types';
import { SERVICES } from '../../src/domain/types';
import { connectNats } from '../../src/platform/messaging/connection';
import { COMMAND_STREAM, REPLY_STREAM } from '../../src/platform/messaging/subjects';
import type { CarrierLedger } from '../../src/services/shipping/fake-carrier';
import type { PaymentLedger } from '../../src/services/payment/fake-payment';
import { prepareInfrastructure } from '../../src/processes/setup';
import { Supervisor } from '../../src/processes/supervisor';
import { ensureLocalSecrets } from '../../src/platform/security/local-secrets';
import { natsClusterBasePort, startNatsCluster } from '../../tooling/stack/nats-cluster';
import type { NatsCluster } from '../../tooling/stack/nats-cluster';
import { startTemporalCluster } from '../../tooling/stack/temporal-cluster';
import { HISTORY_SHARDS } from '../../tooling/stack/temporal-node';
import type { TemporalCluster } from '../../tooling/stack/temporal-cluster';
import { workflowBundlePath } from '../../src/platform/temporal/bundle';
import { waitFor } from '../../src/platform/wait';
import { TEST_ENV, testConfig, uniqueId } from '../support/env';
import { http, orderBody } from '../support/harness';
import { connectsToTemporal } from '../../src/processes/table';
import type { ProcessName, TemporalIdentity } from '../../src/processes/table';

const ORDERS = 200;
/**
 * Orders placed but not finished, at most: a steady stream rather than one burst, so that on a small,
 * busy machine each workflow task still finishes within Temporal's 10 s task timeout.
 */
const IN_FLIGHT = 20;
const UNIT_PRICE_CENTS = 1_050;

/** Runs `fn` over `items` with at most `limit` at once. */
async function inTurn<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Beyond one machine, on one machine: a three-node JetStream cluster with R3 streams, a two-node
 * Temporal cluster on the test stack's PostgreSQL (tooling/stack/temporal-cluster.ts), and two OS
 * processes of the Temporal worker, of each service and of the reply bridge. Mid-run one of each
 * dies by SIGKILL, as do the NATS node leading the command stream and the Temporal node owning the
 * most history shards; every order still completes, and each effect exists exactly once at the
 * providers and in the services' tables.
 */
describe('scale-out: two of every worker on a three-node NATS cluster and a two-node Temporal cluster, one of each killed mid-run', function () {
  this.timeout(2_400_000);
  const base = testConfig();
  const stackDir = base.stack.dir;
  let cluster: NatsCluster | undefined;
  let temporal: TemporalCluster | undefined;
  const supervisors: Supervisor[] = [];
  let pool: Pool | undefined;
  const lines: string[] = [];
  const log = (line: string) => lines.push(`${new Date().toISOString()} ${line}`);
  /** The loop counting finished orders, and its stop. */
  let counting: Promise<void> | undefined;
  let stopped = false;

  after(async function () {
    this.timeout(120_000);
    stopped = true;
    await counting?.catch(() => undefined);
    await Promise.all(supervisors.map((s) => s.stopAll(10_000)));
    await Promise.all([cluster?.stop(), temporal?.stop()]);
    await pool?.end();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${lines.join('\n')}\n`);
  });

  it('completes every order exactly once', async () => {
    // The NATS cluster's ports sit just above the test stack's NATS port; the Temporal cluster takes
    // the 21 ports after the stack's own Temporal cluster's (src/platform/config.ts): clear of every other.
    const ports = base.stack.ports;
    // Each kept as soon as it runs, so that `after` stops it even when the other fails to start.
    await Promise.all([
      startNatsCluster({
        dir: path.join(stackDir, 'nats-cluster'),
        basePort: natsClusterBasePort(ports.nats),
        binCacheDir: base.stack.binCacheDir,
        tlsDir: localTlsDir(stackDir),
        secrets: ensureLocalSecrets(stackDir),
        fresh: true,
        log,
      }).then((c) => (cluster = c)),
      startTemporalCluster({
        dir: path.join(stackDir, 'temporal-cluster-scale-out'),
        basePort: ports.temporalCluster + 20,
        frontendPort: ports.temporalCluster + 40,
        binCacheDir: base.stack.binCacheDir,
        tlsDir: localTlsDir(stackDir),
        postgres: { stackDir, port: ports.postgres },
        database: 'temporal_scale_out',
        namespace: base.temporal.namespace,
        fresh: true,
        log,
        readyTimeoutMs: 300_000,
      }).then((t) => (temporal = t)),
    ]);
    if (!cluster || !temporal) throw new Error('the clusters did not start');
    const env: NodeJS.ProcessEnv = {
      ...TEST_ENV,
      // Every client and worker reaches both nodes through the cluster's forwarder.
      TEMPORAL_ADDRESS: temporal.address,
      NATS_SERVERS: cluster.servers.join(','),
      SHIPSHAPE_STREAM_REPLICAS: '3',
      TEMPORAL_TASK_QUEUE: uniqueId('scale-orders'),
      // A killed service's unacked commands come back to the survivor this soon.
      SHIPSHAPE_ACK_WAIT_MS: '10000',
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
    };
    // The Temporal cluster wants a client certificate: each process that talks to it presents its own,
    // as each service of docker-compose.yml does, and the others are given none. Setup is `admin`.
    const tlsEnvOf = (identity: TemporalIdentity): NodeJS.ProcessEnv => {
      const tls = temporalClientFiles(localTlsDir(stackDir), identity);
      return {
        TEMPORAL_TLS_CA: tls.caFile,
        TEMPORAL_TLS_CERT: tls.certFile,
        TEMPORAL_TLS_KEY: tls.keyFile,
        TEMPORAL_TLS_SERVER_NAME: tls.serverName,
      };
    };
    const envOf = (name: ProcessName): NodeJS.ProcessEnv =>
      connectsToTemporal(name) ? { ...env, ...tlsEnvOf(name as TemporalIdentity) } : env;
    const config = testConfig({ ...env, ...tlsEnvOf('admin') });
    await prepareInfrastructure(config);
    pool = createPool(config, 'migrator', { max: 2 });

    const workers: ProcessName[] = ['temporal-worker', ...SERVICES, 'reply-bridge'];
    const set = (names: ProcessName[], logs: string) =>
      new Supervisor({
        config,
        env: envOf,
        log,
        names,
        restart: false,
        logDir: path.join(stackDir, 'logs', logs),
        readyTimeoutMs: 300_000,
      });
    // The relay and the API run once (see docs/scaling.md); the fake providers stand for outside companies.
    const first = set(['fake-providers', 'api', ...workers, 'outbox-relay'], 'scale-a');
    const second = set(workers, 'scale-b');
    supervisors.push(first, second);
    // Bundled once here, so the two workers do not both bundle the workflow code as they start.
    await workflowBundlePath(false); // their workers export no spans: the untraced bundle
    await Promise.all([first.startAll(), second.startAll()]);

    const headers = { authorization: `Bearer ${ensureLocalSecrets(stackDir).apiKeys.operator}` };
    const api = { apiUrl: `http://127.0.0.1:${config.api.port}` };
    const sku = uniqueId('sku');
    assert.equal(
      (await http(api, 'PUT', `/inventory/${sku}`, { available: ORDERS }, headers)).status,
      200,
    );
    const orders = Array.from({ length: ORDERS }, (_, i) => ({
      orderId: uniqueId(`scale${i}`),
      customerId: `cust-${sku}-${i % 40}`,
    }));
    const orderIds = orders.map((o) => o.orderId);
    const finished = async () =>
      (
        await pool!.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM app.orders WHERE order_id = ANY($1) AND status = ANY($2)`,
          [orderIds, TERMINAL_STATUSES],
        )
      ).rows[0]!.n;

    const started = Date.now();
    let done = 0;
    let placed = 0;
    const placing = inTurn(orders, 4, async (o) => {
      await waitFor('room in the window of orders in flight', () => placed - done < IN_FLIGHT, {
        timeoutMs: 600_000,
        intervalMs: 100,
      });
      placed++;
      const r = await http(
        api,
        'POST',
        '/orders',
        orderBody({ ...o, sku, quantity: 1, unitPriceCents: UNIT_PRICE_CENTS }),
        headers,
      );
      assert.equal(r.status, 202, JSON.stringify(r.body));
    });

    counting = (async () => {
      while (!stopped && done < ORDERS) {
        done = await finished();
        await delay(250);
      }
    })();

    // Mid-run: a fifth of the orders done, the rest in flight or still to come.
    await waitFor('a fifth of the orders to finish', () => done >= ORDERS / 5, {
      timeoutMs: 600_000,
      intervalMs: 250,
    });
    const admin = await connectNats(config, 'admin');
    const jsm = await jetstreamManager(admin);
    const commands = await jsm.streams.info(COMMAND_STREAM);
    assert.equal(commands.config.num_replicas, 3, 'the command stream has three replicas');
    const leader = commands.cluster?.leader;
    const victim = cluster.nodes.findIndex((n) => n.name === leader);
    assert.ok(victim >= 0, `the command stream's leader (${leader}) is one of the cluster's nodes`);
    const kill = (s: Supervisor, name: ProcessName) => {
      const pid = s.pidOf(name);
      assert.ok(pid, `${name} runs`);
      process.kill(pid, 'SIGKILL');
      log(`killed ${name} (pid ${pid})`);
    };
    kill(first, 'temporal-worker');
    kill(first, 'inventory');
    kill(second, 'payment');
    kill(first, 'loyalty');
    kill(second, 'shipping');
    kill(second, 'reply-bridge');
    cluster.killNode(victim);
    // The Temporal node owning the most history shards: its shards must move to the other.
    const ownedBefore = await temporal.shardsOwned();
    const temporalVictim = ownedBefore.indexOf(Math.max(...ownedBefore.map((n) => n ?? 0)));
    const temporalKilledAt = Date.now();
    temporal.killNode(temporalVictim);
    const killedAt = done;
    const survivor = 1 - temporalVictim;
    await waitFor(
      `Temporal node ${survivor + 1} to own every history shard`,
      async () => (await temporal!.shardsOwned())[survivor] === HISTORY_SHARDS,
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    const takeoverSeconds = (Date.now() - temporalKilledAt) / 1000;
    log(`shards of the killed Temporal node taken over in ${takeoverSeconds.toFixed(1)} s`);

    // Brought back while orders still run, as a restart policy would: it takes its shards back.
    await waitFor('another tenth of the orders to finish', () => done >= killedAt + ORDERS / 10, {
      timeoutMs: 600_000,
      intervalMs: 250,
    });
    await temporal.restartNode(temporalVictim);
    assert.deepEqual(
      await temporal.shardsOwned(),
      ownedBefore,
      'the restarted Temporal node owns the shards it owned before the kill',
    );
    assert.ok(await temporal.nodeAnswers(temporalVictim), 'the restarted node answers');

    await placing;
    await waitFor('every order to finish', () => done === ORDERS, {
      timeoutMs: 1_200_000,
      intervalMs: 500,
    });
    await counting;
    // What the kills cost the orders in flight at that moment, against all orders: end to end, in s.
    const { rows: e2e } = await pool.query<{ all_p50: number; hit_p50: number; hit_max: number }>(
      `WITH o AS (SELECT created_at, extract(epoch FROM updated_at - created_at) AS s
                    FROM app.orders WHERE order_id = ANY($1))
       SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS all_p50,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY s)
                FILTER (WHERE created_at <= $2 AND created_at + s * interval '1 second' >= $2) AS hit_p50,
              max(s) FILTER (WHERE created_at <= $2 AND created_at + s * interval '1 second' >= $2) AS hit_max
         FROM o`,
      [orderIds, new Date(temporalKilledAt)],
    );
    const secs = (v: number | undefined) => Number(v ?? NaN).toFixed(1);
    const summary =
      `${ORDERS} orders in ${Math.round((Date.now() - started) / 1000)} s; ${killedAt} had finished at the kills; ` +
      `Temporal shards taken over in ${takeoverSeconds.toFixed(1)} s; end to end p50 ${secs(e2e[0]?.all_p50)} s, ` +
      `orders in flight at the kills p50 ${secs(e2e[0]?.hit_p50)} s, max ${secs(e2e[0]?.hit_max)} s`;
    log(summary);
    process.stdout.write(`      (${summary})\n`);

    const statuses = await pool.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM app.orders WHERE order_id = ANY($1) GROUP BY status`,
      [orderIds],
    );
    assert.deepEqual(statuses.rows, [{ status: 'COMPLETED', n: ORDERS }]);

    // The outside companies saw one charge and one shipment per order, and nothing undone.
    const ledger = async <L>(url: string) =>
      ((await (await fetch(`${url}/_control/ledger`)).json()) as { ledger: L }).ledger;
    const payment = await ledger<PaymentLedger>(config.providers.paymentUrl);
    const carrier = await ledger<CarrierLedger>(config.providers.carrierUrl);
    const ours = new Set(orderIds);
    const charges = payment.charges.filter((c) => ours.has(c.orderId));
    assert.equal(charges.length, ORDERS, 'one charge per order');
    assert.equal(new Set(charges.map((c) => c.orderId)).size, ORDERS, 'no order charged twice');
    assert.ok(charges.every((c) => c.amountCents === UNIT_PRICE_CENTS));
    const chargeIds = new Set(charges.map((c) => c.chargeId));
    assert.equal(payment.refunds.filter((r) => chargeIds.has(r.chargeId)).length, 0, 'no refunds');
    const shipments = carrier.shipments.filter((s) => ours.has(s.orderId));
    assert.equal(shipments.length, ORDERS, 'one shipment per order');
    assert.equal(new Set(shipments.map((s) => s.orderId)).size, ORDERS, 'no order shipped twice');
    assert.ok(
      shipments.every((s) => !s.cancelled),
      'no shipment cancelled',
    );

    // Each service recorded its effect once per order.
    const perOrder = async (sql: string) =>
      (await pool!.query<{ order_id: string; n: number }>(sql, [orderIds])).rows;
    const once = (rows: { n: number }[], what: string) => {
      assert.equal(rows.length, ORDERS, `${what}: a row for every order`);
      assert.ok(
        rows.every((r) => r.n === 1),
        `${what}: exactly one per order`,
      );
    };
    once(
      await perOrder(
        `SELECT order_id, count(*)::int AS n FROM payment.charges WHERE order_id = ANY($1) AND status = 'charged' GROUP BY order_id`,
      ),
      'payment.charges',
    );
    once(
      await perOrder(
        `SELECT order_id, count(*)::int AS n FROM shipping.shipments WHERE order_id = ANY($1) AND status = 'created' GROUP BY order_id`,
      ),
      'shipping.shipments',
    );
    once(
      await perOrder(
        `SELECT order_id, count(*)::int AS n FROM inventory.reservations WHERE order_id = ANY($1) AND state = 'committed' GROUP BY order_id`,
      ),
      'inventory.reservations',
    );
    const points = await pool.query<{ order_id: string; n: number; points: number }>(
      `SELECT order_id, count(*)::int AS n, sum(points)::int AS points FROM loyalty.ledger
        WHERE order_id = ANY($1) GROUP BY order_id`,
      [orderIds],
    );
    once(points.rows, 'loyalty.ledger');
    assert.ok(
      points.rows.every((r) => r.points === Math.floor(UNIT_PRICE_CENTS / 100)),
      'points awarded once per order, never reversed',
    );
    const stock = await pool.query<{ available: number; reserved: number }>(
      `SELECT available, reserved FROM inventory.stock WHERE sku = $1`,
      [sku],
    );
    assert.deepEqual(stock.rows, [{ available: 0, reserved: 0 }], 'every unit left stock once');

    // The killed node comes back, catches up, and the command stream has its three replicas again.
    await cluster.restartNode(victim);
    await waitFor(
      'the command stream to have three current replicas',
      async () => {
        const info = await jsm.streams.info(COMMAND_STREAM);
        const current = (info.cluster?.replicas ?? []).filter((r) => r.current && !r.offline);
        return current.length === 2 && info.cluster?.leader !== undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.equal((await jsm.streams.info(REPLY_STREAM)).config.num_replicas, 3);
    await admin.close();
  });
});
