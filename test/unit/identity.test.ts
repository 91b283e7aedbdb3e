import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/platform/config';
import { databaseUrlFor, natsOptionsFor } from '../../src/platform/security/identity';
import { ensureLocalSecrets } from '../../src/platform/security/local-secrets';

describe('how each identity connects', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shipshape-identity-'));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it("uses the local stack's user and role of each process when nothing is configured", () => {
    const stackDir = path.join(dir, 'stack');
    const secrets = ensureLocalSecrets(stackDir);
    const config = loadConfig({ SHIPSHAPE_STACK_DIR: stackDir, SHIPSHAPE_PORT_OFFSET: '7' });
    const nats = natsOptionsFor(config, 'payment');
    assert.equal(nats.user, 'payment');
    assert.equal(nats.pass, secrets.nats.payment);
    assert.equal(nats.inboxPrefix, '_INBOX.payment');
    const url = new URL(databaseUrlFor(config, 'reply-bridge'));
    assert.equal(url.username, 'reply_bridge');
    assert.equal(decodeURIComponent(url.password), secrets.postgres['reply-bridge']);
    assert.equal(url.port, '15439');
    assert.equal(new URL(databaseUrlFor(config, 'migrator')).username, 'migrator');
  });

  it("takes a deployment's NATS user, password file and TLS files from configuration", () => {
    const config = loadConfig({
      NATS_SERVERS: 'tls://a:4222,tls://b:4222',
      NATS_USER: 'inventory',
      NATS_PASSWORD_FILE: file('nats-pw', 's3cret\n'),
      NATS_TLS_CA: '/etc/ca.pem',
      NATS_TLS_CERT: '/etc/client.pem',
      NATS_TLS_KEY: '/etc/client.key',
    });
    const o = natsOptionsFor(config, 'inventory');
    assert.deepEqual(o.servers, ['tls://a:4222', 'tls://b:4222']);
    assert.equal(o.user, 'inventory');
    assert.equal(o.pass, 's3cret');
    assert.deepEqual(o.tls, {
      caFile: '/etc/ca.pem',
      certFile: '/etc/client.pem',
      keyFile: '/etc/client.key',
    });
  });

  it('refuses half-configured NATS credentials or TLS with a message that names the settings', () => {
    assert.throws(
      () => natsOptionsFor(loadConfig({ NATS_USER: 'api' }), 'api'),
      (e: Error) => e instanceof ConfigError && /NATS_USER.*NATS_PASSWORD/.test(e.message),
    );
    assert.throws(
      () =>
        natsOptionsFor(
          loadConfig({ NATS_USER: 'api', NATS_PASSWORD: 'x', NATS_TLS_CERT: '/c' }),
          'api',
        ),
      /NATS_TLS_CERT and NATS_TLS_KEY/,
    );
    assert.throws(
      () =>
        natsOptionsFor(
          loadConfig({ NATS_USER: 'api', NATS_PASSWORD_FILE: path.join(dir, 'none') }),
          'api',
        ),
      /NATS_PASSWORD_FILE names .*none, which cannot be read: ENOENT/,
    );
  });

  it('uses DATABASE_URL as it is, with the password from DATABASE_PASSWORD_FILE, and MIGRATION_DATABASE_URL for the migrator', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://payment@db:5432/shipshape',
      DATABASE_PASSWORD_FILE: file('db-pw', 'p@ss:word\n'),
      MIGRATION_DATABASE_URL: 'postgres://migrator:m@db:5432/shipshape',
    });
    const url = new URL(databaseUrlFor(config, 'payment'));
    assert.equal(url.username, 'payment');
    assert.equal(decodeURIComponent(url.password), 'p@ss:word');
    assert.equal(databaseUrlFor(config, 'migrator'), 'postgres://migrator:m@db:5432/shipshape');
    // One's own PostgreSQL with one URL: every identity uses it.
    const one = loadConfig({ DATABASE_URL: 'postgres://me:pw@localhost/mine' });
    assert.equal(databaseUrlFor(one, 'inventory'), 'postgres://me:pw@localhost/mine');
    assert.equal(databaseUrlFor(one, 'migrator'), 'postgres://me:pw@localhost/mine');
  });
});
