import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import type { Pool } from 'pg';
import { createPool } from '../../src/platform/db/pool';
import { connectNats } from '../../src/platform/messaging/connection';
import {
  COMMAND_STREAM,
  REPLY_STREAM,
  serviceConsumerName,
} from '../../src/platform/messaging/subjects';
import { checkInfrastructure } from '../../src/processes/setup';
import { natsOptionsFor } from '../../src/platform/security/identity';
import { ensureLocalSecrets } from '../../src/platform/security/local-secrets';
import { natsBinary } from '../../tooling/stack/binaries';
import { natsAccountsConfig } from '../../tooling/stack/nats';
import { waitFor } from '../../src/platform/wait';
import { testConfig, uniqueId } from '../support/env';
import { PROCESS_IDENTITIES } from '../../src/processes/table';
import { SERVICES } from '../../src/domain/types';

const PERMISSION_DENIED = /Permissions Violation/;

describe('each process connects as itself, with only its own rights (real NATS and PostgreSQL)', function () {
  const config = testConfig();
  const connections: NatsConnection[] = [];
  const pools: Pool[] = [];
  const nats = async (identity: Parameters<typeof connectNats>[1]) => {
    const nc = await connectNats(config, identity, `test-${identity}`);
    connections.push(nc);
    return nc;
  };
  const db = (identity: Parameters<typeof createPool>[1], env: NodeJS.ProcessEnv = {}) => {
    const pool = createPool(testConfig(env), identity, { max: 2 });
    pools.push(pool);
    return pool;
  };
  after(async () => {
    for (const nc of connections) await nc.close().catch(() => undefined);
    for (const p of pools) await p.end().catch(() => undefined);
  });

  describe('NATS', () => {
    it("lets a service publish its own replies but not another service's commands or replies", async () => {
      const js = jetstream(await nats('inventory'));
      const own = await js.publish('reply.inventory.reserve', '{}', {
        msgID: uniqueId('own-reply'),
      });
      assert.equal(own.stream, REPLY_STREAM);
      for (const subject of [
        'cmd.payment.charge',
        'reply.payment.charge',
        'cmd.inventory.reserve',
      ]) {
        await assert.rejects(
          js.publish(subject, '{}', { timeout: 5000 }),
          PERMISSION_DENIED,
          `inventory publishing to ${subject}`,
        );
      }
    });

    it('keeps commands to the workflow side and replies to the services and the relay', async () => {
      await assert.rejects(
        jetstream(await nats('temporal-worker')).publish('reply.payment.charge', '{}', {
          timeout: 5000,
        }),
        PERMISSION_DENIED,
      );
      await assert.rejects(
        jetstream(await nats('outbox-relay')).publish('cmd.payment.refund', '{}', {
          timeout: 5000,
        }),
        PERMISSION_DENIED,
      );
      await assert.rejects(
        jetstream(await nats('api')).publish('cmd.shipping.create', '{}', { timeout: 5000 }),
        PERMISSION_DENIED,
      );
    });

    it("refuses to let a service pull from another service's consumer", async () => {
      const js = jetstream(await nats('loyalty'));
      await assert.rejects(
        js.consumers.get(COMMAND_STREAM, serviceConsumerName('payment')),
        PERMISSION_DENIED,
      );
    });

    it('lets no app user delete or purge a stream, or delete or make a consumer; admin still sees them', async () => {
      for (const identity of PROCESS_IDENTITIES) {
        const jsm = await jetstreamManager(await nats(identity));
        await assert.rejects(jsm.streams.delete(COMMAND_STREAM), PERMISSION_DENIED, identity);
        await assert.rejects(jsm.streams.purge(REPLY_STREAM), PERMISSION_DENIED, identity);
        await assert.rejects(
          jsm.consumers.delete(COMMAND_STREAM, serviceConsumerName('inventory')),
          PERMISSION_DENIED,
          identity,
        );
        await assert.rejects(
          jsm.consumers.add(COMMAND_STREAM, { durable_name: `rogue-${identity}` }),
          PERMISSION_DENIED,
          identity,
        );
      }
      const admin = await jetstreamManager(await nats('admin'));
      assert.equal((await admin.streams.info(COMMAND_STREAM)).config.name, COMMAND_STREAM);
      assert.equal(
        (await admin.consumers.info(COMMAND_STREAM, serviceConsumerName('inventory'))).name,
        serviceConsumerName('inventory'),
      );
    });

    it('refuses a connection without credentials or with a wrong password', async () => {
      await assert.rejects(
        connect({ servers: config.nats.servers, timeout: 5000 }),
        /Authorization Violation/i,
      );
      await assert.rejects(
        connect({ servers: config.nats.servers, user: 'inventory', pass: 'wrong', timeout: 5000 }),
        /Authorization Violation/i,
      );
    });
  });

  describe('NATS over TLS', () => {
    // A server of its own that takes TLS connections only, with the same users, on a port beside the stack's.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shipshape-tls-'));
    const port = config.stack.ports.nats + 77;
    let server: ChildProcess | undefined;
    const tlsConfig = () =>
      testConfig({ NATS_SERVERS: `tls://127.0.0.1:${port}`, NATS_TLS_CA: `${dir}/ca.pem` });
    const openssl = (args: string) =>
      execFileSync('openssl', args.split(' '), { cwd: dir, stdio: 'pipe' });

    before(async function () {
      this.timeout(60_000);
      openssl(
        'req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca -keyout ca.key -out ca.pem',
      );
      openssl('req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr');
      writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
      openssl(
        'x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out server.pem',
      );
      const conf = path.join(dir, 'nats.conf');
      writeFileSync(
        conf,
        [
          `listen: 127.0.0.1:${port}`,
          `tls { cert_file: "${dir}/server.pem", key_file: "${dir}/server.key" }`,
          natsAccountsConfig(ensureLocalSecrets(config.stack.dir)),
          '',
        ].join('\n'),
      );
      server = spawn(await natsBinary(config.stack.binCacheDir, () => undefined), ['-c', conf], {
        stdio: 'ignore',
      });
      await waitFor('the TLS server to take connections', async () => {
        const nc = await connect({ ...natsOptionsFor(tlsConfig(), 'api'), timeout: 2000 });
        await nc.close();
        return true;
      });
    });
    after(() => {
      server?.kill();
    });

    it('connects over TLS, verifying the server against NATS_TLS_CA', async () => {
      const nc = await connectNats(tlsConfig(), 'inventory');
      connections.push(nc);
      assert.equal(nc.info?.tls_required, true);
      await nc.flush();
    });

    it('refuses a server whose certificate it cannot verify', async () => {
      await assert.rejects(
        connect({ servers: `tls://127.0.0.1:${port}`, user: 'api', pass: 'x', timeout: 5000 }),
        /certificate|self.signed|verify/i,
      );
    });
  });

  describe('PostgreSQL', () => {
    it("refuses a service's role another service's tables", async () => {
      const inventory = db('inventory');
      await assert.rejects(inventory.query('SELECT * FROM payment.charges'), { code: '42501' });
      await assert.rejects(
        inventory.query(
          `INSERT INTO shipping.shipments (order_id, command_id, status) VALUES ('x', 'x', 'created')`,
        ),
        { code: '42501' },
      );
      await assert.rejects(inventory.query('SELECT * FROM app.orders'), { code: '42501' });
      const payment = db('payment');
      await assert.rejects(payment.query('SELECT * FROM inventory.stock'), { code: '42501' });
      await assert.rejects(payment.query('SELECT * FROM loyalty.ledger'), { code: '42501' });
      // Its own tables it may use.
      assert.equal((await payment.query('SELECT count(*) FROM payment.charges')).rowCount, 1);
    });

    it("refuses the API, the worker, the reconciler and the CLI every service's tables", async () => {
      const tables = [
        'inventory.stock',
        'inventory.reservations',
        'payment.charges',
        'loyalty.ledger',
        'shipping.shipments',
        ...SERVICES.map((s) => `${s}.outbox`),
      ];
      for (const identity of ['api', 'temporal-worker', 'reconciler', 'cli'] as const) {
        const pool = db(identity);
        for (const table of tables)
          await assert.rejects(
            pool.query(`SELECT 1 FROM ${table} LIMIT 1`),
            { code: '42501' },
            `${identity} reading ${table}`,
          );
      }
      const api = db('api');
      await assert.rejects(
        api.query(`UPDATE inventory.stock SET available = 1000 WHERE sku = 'SKU-1'`),
        { code: '42501' },
      );
      await assert.rejects(
        api.query(
          `INSERT INTO loyalty.ledger (order_id, customer_id, kind, points) VALUES ('x', 'x', 'award', 1)`,
        ),
        { code: '42501' },
      );
      // What the API keeps is its own.
      assert.equal((await api.query('SELECT count(*) FROM app.orders')).rowCount, 1);
    });

    it('lets a service record what it consumed, never update that record, nor delete it while deduplication may need it', async () => {
      for (const service of ['inventory', 'payment', 'loyalty', 'shipping'] as const) {
        const pool = db(service);
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const id = uniqueId('consumed');
          await client.query(
            `INSERT INTO ${service}.consumed_messages (command_id, command_type, order_id, seq, outcome, reply_id)
             VALUES ($1, 'x', $1, 1, 'applied', $1)`,
            [id],
          );
          // Younger than the retention floor (test/integration/retention.test.ts deletes an older one).
          await assert.rejects(
            client.query(`DELETE FROM ${service}.consumed_messages WHERE command_id = $1`, [id]),
            { code: '42501' },
            service,
          );
        } finally {
          await client.query('ROLLBACK');
          client.release();
        }
        await assert.rejects(
          pool.query(`UPDATE ${service}.consumed_messages SET outcome = 'stale' WHERE false`),
          { code: '42501' },
          service,
        );
        await assert.rejects(pool.query(`TRUNCATE ${service}.consumed_messages`), {
          code: '42501',
        });
      }
    });

    it('gives no runtime role the right to change the schema', async () => {
      for (const identity of PROCESS_IDENTITIES) {
        const pool = db(identity);
        await assert.rejects(
          pool.query('CREATE TABLE app.intruder (x int)'),
          { code: '42501' },
          identity,
        );
        await assert.rejects(pool.query('DROP TABLE app.orders'), { code: '42501' }, identity);
      }
    });

    it('accepts no login without the right password', async () => {
      const { postgres } = config.stack.ports;
      for (const [user, password] of [
        ['shipshape', undefined],
        ['inventory', 'wrong'],
        ['migrator', undefined],
      ] as const) {
        const client = new pg.Client({
          host: '127.0.0.1',
          port: postgres,
          user,
          password,
          database: 'shipshape',
        });
        await assert.rejects(client.connect(), /password/i, user);
        await client.end().catch(() => undefined);
      }
    });

    it('cancels a statement that runs past the statement timeout', async () => {
      const pool = db('api', { DATABASE_STATEMENT_TIMEOUT_MS: '300' });
      await assert.rejects(pool.query('SELECT pg_sleep(5)'), {
        code: '57014',
        message: /statement timeout/,
      });
      assert.deepEqual(
        (await pool.query('SELECT 1 AS one')).rows,
        [{ one: 1 }],
        'the pool keeps working',
      );
    });

    it('ends a session left idle in a transaction', async () => {
      const pool = db('api', { DATABASE_IDLE_TX_TIMEOUT_MS: '300' });
      pool.on('error', () => undefined); // the server ends the session under the pool
      const client = await pool.connect();
      client.on('error', () => undefined);
      await client.query('BEGIN');
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const watcher = db('migrator');
      await waitFor('the idle transaction to be ended', async () => {
        const r = await watcher.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [
          rows[0]!.pid,
        ]);
        return r.rowCount === 0;
      });
      await assert.rejects(client.query('SELECT 1'));
      client.release(true);
    });

    it('holds the CHECK constraints whatever the role: stock never below zero, amounts and quantities positive', async () => {
      const owner = db('migrator');
      const client = await owner.connect();
      const violates = async (sql: string, params: unknown[]) => {
        await client.query('SAVEPOINT s');
        await assert.rejects(client.query(sql, params), { code: '23514' }, sql);
        await client.query('ROLLBACK TO SAVEPOINT s');
      };
      try {
        await client.query('BEGIN');
        const id = uniqueId('chk');
        await violates(`INSERT INTO inventory.stock (sku, available) VALUES ($1, -1)`, [id]);
        await violates(
          `INSERT INTO inventory.reservations (order_id, sku, quantity, state) VALUES ($1, $1, 0, 'reserved')`,
          [id],
        );
        await violates(
          `INSERT INTO payment.charges (order_id, command_id, amount_cents, currency, customer_id, status)
           VALUES ($1, $1, 0, 'EUR', 'c', 'charged')`,
          [id],
        );
        await violates(
          `INSERT INTO app.orders (order_id, workflow_id, customer_id, status, total_cents, currency, request)
           VALUES ($1, $1, 'c', 'PENDING', 0, 'EUR', '{}')`,
          [id],
        );
        await violates(
          `INSERT INTO loyalty.ledger (customer_id, order_id, command_id, kind, points) VALUES ('c', $1, $1, 'award', -5)`,
          [id],
        );
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    });
  });

  describe('setup and run', () => {
    it('lets every process check, with its own rights, that setup was done', async () => {
      for (const identity of PROCESS_IDENTITIES) await checkInfrastructure(config, identity);
    });

    it('names the setup command when the database was never migrated', async () => {
      // The server's own `postgres` database: reachable with the same role, never set up.
      const url = new URL(
        (db('migrator') as unknown as { options: { connectionString: string } }).options
          .connectionString,
      );
      url.pathname = '/postgres';
      await assert.rejects(
        checkInfrastructure(testConfig({ DATABASE_URL: url.toString() }), 'inventory'),
        /no Shipshape tables.*shipshape setup/,
      );
    });
  });
});
