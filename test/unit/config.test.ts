import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ALL_SETTINGS,
  ConfigError,
  loadConfig,
  SETTINGS,
  temporalUiLink,
} from '../../src/platform/config';
import { projectRoot } from '../../src/platform/paths';
import { configurationReference } from '../../src/platform/settings/reference';

describe('configuration', () => {
  it('points at the local stack when nothing is set', () => {
    const c = loadConfig({});
    assert.equal(c.temporal.address, '127.0.0.1:17233');
    assert.equal(c.temporal.namespace, 'default');
    assert.equal(c.temporal.taskQueue, 'shipshape-orders');
    assert.deepEqual(c.nats.servers, ['nats://127.0.0.1:14222']);
    assert.equal(c.database.url, 'postgres://shipshape@127.0.0.1:15432/shipshape');
    assert.equal(c.providers.paymentUrl, 'http://127.0.0.1:18081');
    assert.equal(c.providers.useFakes, true);
    assert.equal(c.stack.managesPostgres, true);
    assert.equal(c.api.port, 13000);
  });

  it('uses the configuration variables the outside contract names', () => {
    const c = loadConfig({
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'shop',
      TEMPORAL_TASK_QUEUE: 'orders',
      NATS_SERVERS: 'nats://a:4222, nats://b:4222',
      DATABASE_URL: 'postgres://u:p@db/shop',
      PAYMENT_PROVIDER_URL: 'https://pay.example/',
      CARRIER_URL: 'https://ship.example',
      PORT: '8080',
    });
    assert.equal(c.temporal.address, 'temporal:7233');
    assert.deepEqual(c.nats.servers, ['nats://a:4222', 'nats://b:4222']);
    assert.equal(c.providers.paymentUrl, 'https://pay.example');
    assert.equal(c.providers.useFakes, false);
    assert.equal(c.stack.managesPostgres, false);
    assert.equal(c.api.port, 8080);
    assert.equal(
      temporalUiLink(c, 'order-1'),
      'http://127.0.0.1:18233/namespaces/shop/workflows/order-1',
    );
  });

  it('names every bad variable in one error', () => {
    assert.throws(
      () =>
        loadConfig({
          PORT: 'eighty',
          PAYMENT_PROVIDER_URL: 'not a url',
          SHIPSHAPE_STEP_TIMEOUT_MS: '5',
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /PORT must be an integer/);
        assert.match(err.message, /PAYMENT_PROVIDER_URL must be a URL/);
        assert.match(err.message, /SHIPSHAPE_STEP_TIMEOUT_MS must be an integer from 100/);
        return true;
      },
    );
  });

  it('refuses a retention shorter than deduplication needs, naming the setting and the minimum', () => {
    const c = loadConfig({});
    assert.equal(c.retention.minimumHours, 336);
    assert.ok(c.retention.commandHours >= 336 && c.retention.deadLetterHours >= 336);
    assert.throws(
      () =>
        loadConfig({
          SHIPSHAPE_NAMESPACE_RETENTION_HOURS: '720',
          SHIPSHAPE_ORDER_LIFETIME_HOURS: '48',
          SHIPSHAPE_COMMAND_RETENTION_HOURS: '767',
        }),
      (err: Error) =>
        err instanceof ConfigError &&
        /SHIPSHAPE_COMMAND_RETENTION_HOURS: 767 h is shorter than deduplication needs: at least 768 h/.test(
          err.message,
        ) &&
        /SHIPSHAPE_DEAD_LETTER_RETENTION_HOURS: 720 h/.test(err.message),
    );
    const exact = loadConfig({
      SHIPSHAPE_NAMESPACE_RETENTION_HOURS: '24',
      SHIPSHAPE_ORDER_LIFETIME_HOURS: '24',
      SHIPSHAPE_COMMAND_RETENTION_HOURS: '48',
      SHIPSHAPE_DEAD_LETTER_RETENTION_HOURS: '48',
    });
    assert.deepEqual([exact.retention.commandHours, exact.retention.deadLetterHours], [48, 48]);
  });

  it('puts the UI gate on the UI port, in front of the UI server, and the codec server on HTTPS only with both files', () => {
    const c = loadConfig({});
    assert.equal(c.uiGate.port, 18233);
    assert.equal(c.uiGate.upstream, 'http://127.0.0.1:18235');
    assert.equal(c.codecServer.tls, undefined);
    assert.deepEqual(
      loadConfig({ CODEC_TLS_CERT: '/c.crt', CODEC_TLS_KEY: '/c.key' }).codecServer.tls,
      {
        certFile: '/c.crt',
        keyFile: '/c.key',
      },
    );
    assert.throws(
      () => loadConfig({ CODEC_TLS_CERT: '/c.crt' }),
      /CODEC_TLS_CERT is set without CODEC_TLS_KEY/,
    );
    assert.throws(
      () => loadConfig({ CODEC_TLS_KEY: '/c.key' }),
      /CODEC_TLS_KEY is set without CODEC_TLS_CERT/,
    );
  });
});

describe('the settings, said once', () => {
  it('keeps docs/configuration.md equal to what `shipshape config --reference` prints', () => {
    const onDisk = readFileSync(path.join(projectRoot, 'docs', 'configuration.md'), 'utf8');
    assert.ok(
      onDisk === `${configurationReference(SETTINGS)}\n`,
      'docs/configuration.md is out of date: run `node bin/shipshape.js config --reference > docs/configuration.md`',
    );
  });

  it('gives every variable one owner, a meaning and a default it can read', () => {
    const names = ALL_SETTINGS.flatMap((s) => (s.formerly ? [s.env, s.formerly] : [s.env]));
    assert.deepEqual(
      names.filter((n, i) => names.indexOf(n) !== i),
      [],
      'a variable declared twice',
    );
    for (const s of ALL_SETTINGS) {
      assert.match(s.env, /^[A-Z][A-Z0-9_]*$/, s.env);
      assert.ok(s.doc.length > 10, `${s.env} says what it sets`);
      assert.ok(s.unset ?? s.schema.safeParse(undefined).success, `${s.env} has a default`);
    }
  });

  it('still reads a former name, warning once with the name to set instead', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const c = loadConfig({ SHIPSHAPE_API_KEY: 'ops-key' });
      loadConfig({ SHIPSHAPE_API_KEY: 'ops-key' });
      assert.equal(c.api.callerKey, 'ops-key');
      assert.equal(loadConfig({ SHIPSHAPE_CALLER_API_KEY: 'new' }).api.callerKey, 'new');
      await new Promise((resolve) => setImmediate(resolve));
      const renamed = warnings.filter((w) => w.message.includes('SHIPSHAPE_API_KEY'));
      assert.equal(renamed.length, 1, 'named once per process');
      assert.match(renamed[0]!.message, /set SHIPSHAPE_CALLER_API_KEY instead/);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('puts a port left unset at its place in the local stack, and a port set where it says', () => {
    const unset = loadConfig({ SHIPSHAPE_PORT_OFFSET: '100' });
    assert.deepEqual(
      [unset.api.port, unset.codecServer.port, unset.uiGate.port],
      [13100, unset.stack.ports.codecServer, unset.stack.ports.temporalUi],
    );
    const set = loadConfig({ PORT: '1', CODEC_PORT: '2', UI_GATE_PORT: '3' });
    assert.deepEqual([set.api.port, set.codecServer.port, set.uiGate.port], [1, 2, 3]);
    assert.throws(() => loadConfig({ PORT: '-1' }), /PORT must be an integer from 1 to 65535/);
  });
});

describe('shipshape config', () => {
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [path.join(projectRoot, 'bin', 'shipshape.js'), 'config'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
    });

  it('prints each value in force, never a secret, and names a bad one with exit code 2', () => {
    const ok = run({ TEMPORAL_NAMESPACE: 'shop', SHIPSHAPE_CALLER_API_KEY: 'hush' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^TEMPORAL_NAMESPACE\s+shop\s+default$/m);
    assert.match(ok.stdout, /^SHIPSHAPE_CALLER_API_KEY\s+set\s/m);
    assert.doesNotMatch(ok.stdout, /hush/);

    const bad = run({ PORT: 'eighty' });
    assert.equal(bad.status, 2);
    assert.match(bad.stdout, /bad: PORT must be an integer from 1 to 65535, got "eighty"/);
  });
});
