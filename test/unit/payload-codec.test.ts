import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { ConfigError, loadConfig } from '../../src/platform/config';
import { failureConverter } from '../../src/platform/temporal/failure-converter';
import {
  temporalCliFlags,
  temporalConnectionOptions,
  temporalTls,
} from '../../src/platform/temporal/connection';
import {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  KEY_ID_METADATA,
  PayloadDecryptionError,
} from '../../src/platform/temporal/payload-codec';
import {
  formatPayloadKeys,
  parsePayloadKeys,
  PayloadKeyError,
} from '../../src/platform/temporal/payload-keys';
import { payloadKeysFor } from '../../src/platform/temporal/configured-payload-keys';
import type { PayloadKey } from '../../src/platform/temporal/payload-keys';

const newKey = (id: string): PayloadKey => ({ id, key: crypto.randomBytes(32) });
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (p: Payload): unknown => defaultPayloadConverter.fromPayload(p);

/** A copy of the payload with one byte of its data flipped at `at` (negative: from the end). */
function flipByte(p: Payload, at: number): Payload {
  const data = Buffer.from(p.data!);
  const i = at < 0 ? data.length + at : at;
  data[i] = data[i]! ^ 0x01;
  return { metadata: p.metadata, data };
}

describe('the payload codec (AES-256-GCM)', () => {
  const order = {
    customerId: 'c-1',
    shippingAddress: { name: 'Grace Hopper', line1: '7 Harbour Row', city: 'Leith', country: 'GB' },
    paymentMethod: 'pm_card_4242',
  };

  it('round-trips a payload, and stores neither the value nor its encoding in clear', async () => {
    const codec = new EncryptionCodec([newKey('k1')]);
    const original = payloadOf(order);
    const [encoded] = await codec.encode([original]);
    assert.equal(text(encoded!.metadata!.encoding), ENCRYPTED_ENCODING);
    assert.equal(text(encoded!.metadata![KEY_ID_METADATA]), 'k1');
    assert.deepEqual(Object.keys(encoded!.metadata!).sort(), ['encoding', KEY_ID_METADATA].sort());
    const raw = Buffer.from(encoded!.data!).toString('latin1');
    for (const clear of ['Grace Hopper', '7 Harbour Row', 'pm_card_4242', 'json/plain'])
      assert.ok(!raw.includes(clear), `"${clear}" does not appear in the ciphertext`);
    const [decoded] = await codec.decode([encoded!]);
    assert.deepEqual(valueOf(decoded!), order);
    assert.equal(text(decoded!.metadata!.encoding), 'json/plain');
  });

  it('round-trips several payloads, including empty data and binary/null', async () => {
    const codec = new EncryptionCodec([newKey('k1')]);
    const originals = [payloadOf(undefined), payloadOf(''), payloadOf(new Uint8Array([0, 1, 2]))];
    const decoded = await codec.decode(await codec.encode(originals));
    assert.deepEqual(decoded.map(valueOf), [undefined, '', new Uint8Array([0, 1, 2])]);
  });

  it('uses a fresh IV for every payload, so equal values never give equal ciphertext', async () => {
    const codec = new EncryptionCodec([newKey('k1')]);
    const same = payloadOf(order);
    const encoded = await codec.encode(Array.from({ length: 50 }, () => same));
    const ivs = new Set(encoded.map((p) => Buffer.from(p.data!).subarray(0, 12).toString('hex')));
    assert.equal(ivs.size, 50);
    const bodies = new Set(encoded.map((p) => Buffer.from(p.data!).toString('hex')));
    assert.equal(bodies.size, 50);
  });

  describe('refuses what it cannot authenticate', () => {
    const codec = new EncryptionCodec([newKey('k1')]);
    let encoded: Payload;
    before(async () => {
      [encoded] = (await codec.encode([payloadOf(order)])) as [Payload];
    });
    const refused = (p: Payload) =>
      assert.rejects(codec.decode([p]), (err: Error) => {
        assert.ok(err instanceof PayloadDecryptionError, String(err));
        assert.match(err.message, /failed authentication/);
        return true;
      });

    it('a flipped bit in the IV', () => refused(flipByte(encoded, 3)));
    it('a flipped bit in the ciphertext', () => refused(flipByte(encoded, 20)));
    it('a flipped bit in the tag', () => refused(flipByte(encoded, -1)));
    it('a payload cut short', () =>
      assert.rejects(
        codec.decode([
          { metadata: encoded.metadata, data: Buffer.from(encoded.data!).subarray(0, 20) },
        ]),
        PayloadDecryptionError,
      ));
    it('a payload relabelled with another known key id', async () => {
      const two = new EncryptionCodec([newKey('k2'), newKey('k1')]);
      const [p] = (await two.encode([payloadOf(order)])) as [Payload];
      const relabelled = {
        metadata: { ...p.metadata, [KEY_ID_METADATA]: Buffer.from('k1') },
        data: p.data,
      };
      await assert.rejects(two.decode([relabelled]), /failed authentication/);
    });
  });

  it('hands a payload that is not encrypted over marked as such, instead of refusing it', async () => {
    // A signal sent with the Temporal CLI without the codec server: readable, and known to be clear.
    const codec = new EncryptionCodec([newKey('k1')]);
    const [json, empty, binary] = await codec.decode([
      payloadOf({ reason: 'checked by hand' }),
      payloadOf(undefined),
      { metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.from([1, 2, 3]) },
    ]);
    assert.deepEqual(valueOf(json!), {
      unencrypted: { reason: 'checked by hand' },
      encoding: 'json/plain',
    });
    assert.deepEqual(valueOf(empty!), { unencrypted: null, encoding: 'binary/null' });
    assert.deepEqual(valueOf(binary!), { unencrypted: null, encoding: 'binary/plain' });
  });

  it('refuses a payload whose key id it does not know, naming the id and the keys it has', async () => {
    const [encoded] = await new EncryptionCodec([newKey('retired-2024')]).encode([payloadOf(1)]);
    await assert.rejects(new EncryptionCodec([newKey('k1')]).decode([encoded!]), (err: Error) => {
      assert.ok(err instanceof PayloadDecryptionError);
      assert.match(
        err.message,
        /key "retired-2024", which is not among the configured payload keys \("k1"\)/,
      );
      return true;
    });
  });

  it('rotates: the new first key encrypts, the old one still decodes', async () => {
    const old = newKey('k1');
    const fresh = newKey('k2');
    const [before] = await new EncryptionCodec([old]).encode([payloadOf('before rotation')]);
    const rotated = new EncryptionCodec([fresh, old]);
    assert.equal(rotated.encryptingKeyId, 'k2');
    const [after] = await rotated.encode([payloadOf('after rotation')]);
    assert.equal(text(after!.metadata![KEY_ID_METADATA]), 'k2');
    assert.deepEqual((await rotated.decode([before!, after!])).map(valueOf), [
      'before rotation',
      'after rotation',
    ]);
    // Once the old key is dropped, what it encrypted is refused with a message naming it.
    await assert.rejects(new EncryptionCodec([fresh]).decode([before!]), /key "k1"/);
  });
});

describe('the failure converter', () => {
  it('moves failure messages and stack traces into an encoded payload, which the codec encrypts', async () => {
    const failure = failureConverter.errorToFailure(
      new Error('carrier refused 7 Harbour Row'),
      defaultPayloadConverter,
    );
    assert.equal(failure.message, 'Encoded failure');
    assert.ok(!failure.stackTrace?.includes('Harbour'));
    const attributes = failure.encodedAttributes!;
    assert.ok(text(attributes.data).includes('7 Harbour Row'), 'the message is in the payload');
    const codec = new EncryptionCodec([newKey('k1')]);
    const [sealed] = await codec.encode([attributes]);
    assert.ok(!Buffer.from(sealed!.data!).toString('latin1').includes('Harbour'));
    const [opened] = await codec.decode([sealed!]);
    const back = failureConverter.failureToError(
      { ...failure, encodedAttributes: opened },
      defaultPayloadConverter,
    );
    assert.equal(back.message, 'carrier refused 7 Harbour Row');
  });
});

describe('payload keys from configuration', () => {
  const k1 = crypto.randomBytes(32).toString('base64');
  const k2 = crypto.randomBytes(32).toString('base64');

  it('parses id:base64 entries, the first one encrypting, and formats them back', () => {
    const keys = parsePayloadKeys(`k2:${k2}, k1:${k1}`);
    assert.deepEqual(
      keys.map((k) => k.id),
      ['k2', 'k1'],
    );
    assert.equal(keys[0]!.key.toString('base64'), k2);
    assert.equal(formatPayloadKeys(keys), `k2:${k2},k1:${k1}`);
  });

  it('names the bad entry, never the key', () => {
    const bad: [string, RegExp][] = [
      ['', /no key given/],
      [`k1${k1}`, /entry 1: expected id:base64-key/],
      [`k1:${k1},k2:c2hvcnQ=`, /entry 2 \("k2"\): the key must be 32 bytes in base64/],
      [`k1:${k1.slice(0, -2)}!=`, /entry 1 \("k1"\): the key must be 32 bytes/],
      [`k1:${k1},k1:${k2}`, /entry 2 \("k1"\): the id "k1" is used twice/],
      [`bad id:${k1}`, /entry 1: the id must be/],
    ];
    for (const [spec, message] of bad) {
      assert.throws(
        () => parsePayloadKeys(spec),
        (err: Error) => {
          assert.ok(err instanceof PayloadKeyError);
          assert.match(err.message, message);
          assert.ok(
            !err.message.includes(k1) && !err.message.includes(k2),
            'no key in the message',
          );
          return true;
        },
      );
    }
  });

  it('reads SHIPSHAPE_PAYLOAD_KEYS, the keys file, or the local stack key, and refuses without any', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shipshape-keys-'));
    try {
      const inline = loadConfig({ SHIPSHAPE_STACK_DIR: dir, SHIPSHAPE_PAYLOAD_KEYS: `k1:${k1}` });
      assert.deepEqual(
        payloadKeysFor(inline).map((k) => k.id),
        ['k1'],
      );
      assert.throws(
        () => loadConfig({ SHIPSHAPE_PAYLOAD_KEYS: 'k1:nope' }),
        (err: Error) =>
          err instanceof ConfigError && /SHIPSHAPE_PAYLOAD_KEYS: entry 1/.test(err.message),
      );
      assert.throws(
        () => loadConfig({ SHIPSHAPE_PAYLOAD_KEYS: `k1:${k1}`, SHIPSHAPE_PAYLOAD_KEYS_FILE: '/x' }),
        /not both/,
      );

      const file = path.join(dir, 'payload-keys');
      writeFileSync(file, `# rotated in March\nk2:${k2}\nk1:${k1}\n`);
      const fromFile = loadConfig({ SHIPSHAPE_STACK_DIR: dir, SHIPSHAPE_PAYLOAD_KEYS_FILE: file });
      assert.deepEqual(
        payloadKeysFor(fromFile).map((k) => k.id),
        ['k2', 'k1'],
      );
      const missing = loadConfig({
        SHIPSHAPE_STACK_DIR: dir,
        SHIPSHAPE_PAYLOAD_KEYS_FILE: path.join(dir, 'nope'),
      });
      assert.throws(
        () => payloadKeysFor(missing),
        (err: Error) =>
          err instanceof ConfigError &&
          /SHIPSHAPE_PAYLOAD_KEYS_FILE: cannot read ".*nope": ENOENT/.test(err.message),
      );

      const none = loadConfig({ SHIPSHAPE_STACK_DIR: dir });
      assert.throws(
        () => payloadKeysFor(none),
        (err: Error) =>
          err instanceof ConfigError &&
          /no payload encryption key: set SHIPSHAPE_PAYLOAD_KEYS .* or run `shipshape stack up`/.test(
            err.message,
          ),
      );
      writeFileSync(
        path.join(dir, 'secrets.json'),
        JSON.stringify({ payloadKey: { id: 'local-1', key: k1 } }),
      );
      assert.deepEqual(
        payloadKeysFor(none).map((k) => k.id),
        ['local-1'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('remote Temporal settings', () => {
  it('is a plain connection to the local stack when nothing is set', () => {
    const config = loadConfig({ SHIPSHAPE_STACK_DIR: os.tmpdir() });
    assert.equal(config.temporal.tls, undefined);
    assert.deepEqual(temporalConnectionOptions(config, 'api'), {
      address: config.temporal.address,
    });
  });

  it("connects to the local stack's Temporal cluster with the certificate of the identity connecting", () => {
    const stack = mkdtempSync(path.join(os.tmpdir(), 'shipshape-stack-'));
    try {
      const tls = path.join(stack, 'tls');
      mkdirSync(tls);
      for (const f of ['ca.crt', 'temporal-client-api.crt', 'temporal-client-api.key'])
        writeFileSync(path.join(tls, f), f);
      const config = loadConfig({ SHIPSHAPE_STACK_DIR: stack });
      const mode = (temporal: string) =>
        writeFileSync(path.join(stack, 'stack.json'), JSON.stringify({ pids: {}, temporal }));
      mode('dev');
      assert.equal(temporalTls(config, 'api'), undefined, 'the dev server wants no certificate');
      mode('cluster');
      const api = temporalTls(config, 'api')!;
      assert.equal(text(api.clientCertPair!.crt), 'temporal-client-api.crt');
      assert.equal(text(api.serverRootCACertificate), 'ca.crt');
      assert.deepEqual(temporalCliFlags(config, 'api').slice(4), [
        '--tls-cert-path',
        path.join(tls, 'temporal-client-api.crt'),
        '--tls-key-path',
        path.join(tls, 'temporal-client-api.key'),
        '--tls-ca-path',
        path.join(tls, 'ca.crt'),
        '--tls-server-name',
        'localhost',
      ]);
      assert.throws(
        () => temporalTls(config, 'reconciler'),
        (err: Error) =>
          err instanceof ConfigError &&
          /temporal-client-reconciler\.crt does not exist; run `shipshape stack up`/.test(
            err.message,
          ),
      );
      // Another Temporal (a deployment's, a test's own cluster) is told by configuration.
      const elsewhere = loadConfig({
        SHIPSHAPE_STACK_DIR: stack,
        TEMPORAL_ADDRESS: '10.0.0.5:7233',
      });
      assert.equal(temporalTls(elsewhere, 'api'), undefined);
    } finally {
      rmSync(stack, { recursive: true, force: true });
    }
  });

  it('reads mTLS certificates, the CA and the server name from PEM files', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shipshape-tls-'));
    try {
      for (const f of ['client.pem', 'client.key', 'ca.pem']) writeFileSync(path.join(dir, f), f);
      const config = loadConfig({
        TEMPORAL_ADDRESS: 'acme.a1b2c.tmprl.cloud:7233',
        TEMPORAL_NAMESPACE: 'acme.a1b2c',
        TEMPORAL_TLS_CERT: path.join(dir, 'client.pem'),
        TEMPORAL_TLS_KEY: path.join(dir, 'client.key'),
        TEMPORAL_TLS_CA: path.join(dir, 'ca.pem'),
        TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      });
      const tls = temporalTls(config, 'api')!;
      assert.equal(text(tls.clientCertPair!.crt), 'client.pem');
      assert.equal(text(tls.clientCertPair!.key), 'client.key');
      assert.equal(text(tls.serverRootCACertificate), 'ca.pem');
      assert.equal(tls.serverNameOverride, 'temporal.internal');
      assert.equal(temporalConnectionOptions(config, 'api').address, 'acme.a1b2c.tmprl.cloud:7233');

      const gone = loadConfig({
        TEMPORAL_TLS_CERT: path.join(dir, 'gone.pem'),
        TEMPORAL_TLS_KEY: path.join(dir, 'client.key'),
      });
      assert.throws(
        () => temporalTls(gone, 'api'),
        (err: Error) =>
          err instanceof ConfigError &&
          /TEMPORAL_TLS_CERT: cannot read ".*gone\.pem": ENOENT/.test(err.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a client certificate without its key, and a key without its certificate', () => {
    assert.throws(
      () => loadConfig({ TEMPORAL_TLS_CERT: '/c.pem' }),
      /TEMPORAL_TLS_CERT is set without TEMPORAL_TLS_KEY/,
    );
    assert.throws(
      () => loadConfig({ TEMPORAL_TLS_KEY: '/c.key' }),
      /TEMPORAL_TLS_KEY is set without TEMPORAL_TLS_CERT/,
    );
  });

  it('sends a Temporal Cloud API key over TLS', () => {
    const options = temporalConnectionOptions(
      loadConfig({ TEMPORAL_API_KEY: 'secret-key' }),
      'api',
    );
    assert.equal(options.apiKey, 'secret-key');
    assert.deepEqual(options.tls, {});
  });
});
