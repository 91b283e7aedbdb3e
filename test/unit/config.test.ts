import assert from 'node:assert/strict';
import { ConfigError, loadConfig, temporalUiLink } from '../../src/platform/config';

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
