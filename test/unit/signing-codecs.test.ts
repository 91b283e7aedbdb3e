import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { SIGNERS, signerOf, VERIFIED_ENCODING } from '../../src/domain/provenance';
import { ConfigError, loadConfig } from '../../src/platform/config';
import { ensureLocalSecrets } from '../../src/platform/security/local-secrets';
import { signingKeyFor, trustedKeysFor } from '../../src/platform/temporal/configured-signing-keys';
import { EncryptionCodec } from '../../src/platform/temporal/payload-codec';
import { payloadConverter } from '../../src/platform/temporal/payload-converter';
import {
  newSigningKey,
  parseSigningKey,
  parseTrustedKeys,
  SigningCodec,
  SigningKeyError,
  trustedEntryOf,
  VerifyingCodec,
} from '../../src/platform/temporal/signing-codecs';

const keyPair = (signer: 'api' | 'reply-bridge', id = 'k1') => {
  const made = newSigningKey(signer, id);
  return {
    signing: parseSigningKey(made.signingKey, signer, 'test'),
    trusted: parseTrustedKeys(made.trusted, 'test'),
  };
};
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
/** What the workflow receives: the worker's check, then the bundle's payload converter. */
const received = async (verifier: VerifyingCodec, p: Payload) =>
  payloadConverter.fromPayload<Record<string, unknown>>((await verifier.decode([p]))[0]!);

describe('signatures on what the API, the reply bridge and the reconciler send to workflows', () => {
  const reply = { replyId: 'r1', commandId: 'order-1:payment.charge:2', outcome: 'succeeded' };

  it('marks a payload the worker verified with its signer, under a key no JSON can carry', async () => {
    const bridge = keyPair('reply-bridge');
    const [signed] = await new SigningCodec(bridge.signing).encode([payloadOf(reply)]);
    const value = await received(new VerifyingCodec(bridge.trusted), signed!);
    assert.deepEqual(value, reply);
    assert.equal(signerOf(value), 'reply-bridge');
    assert.equal(JSON.stringify(value), JSON.stringify(reply), 'the mark is not part of its JSON');
  });

  it('leaves an unsigned payload unmarked, whatever its JSON says', async () => {
    const value = await received(
      new VerifyingCodec(keyPair('api').trusted),
      payloadOf({ ...reply, signedBy: 'reply-bridge', [String(Symbol.for('x'))]: 'api' }),
    );
    assert.equal(signerOf(value), undefined);
  });

  it('hands over as undecodable what is altered, signed under a key it does not trust, or claims to be checked', async () => {
    const bridge = keyPair('reply-bridge');
    const verifier = new VerifyingCodec(bridge.trusted);
    const [signed] = await new SigningCodec(bridge.signing).encode([payloadOf(reply)]);
    const altered = { ...signed!, data: Buffer.from(JSON.stringify({ ...reply, outcome: 'x' })) };
    const [stranger] = await new SigningCodec(keyPair('reply-bridge', 'k2').signing).encode([
      payloadOf(reply),
    ]);
    const [asApi] = await new SigningCodec({ ...bridge.signing, signer: 'api' }).encode([
      payloadOf(reply),
    ]);
    const claimed: Payload = {
      metadata: {
        encoding: Buffer.from(VERIFIED_ENCODING),
        'shipshape-signer': Buffer.from('api'),
      },
      data: Buffer.from(JSON.stringify(reply)),
    };
    const why = async (p: Payload) => (await received(verifier, p)).undecodable;
    assert.match(String(await why(altered)), /signature as "reply-bridge" does not verify/);
    assert.match(String(await why(stranger!)), /key "k2", which the worker does not trust/);
    assert.match(
      String(await why(asApi!)),
      /signed as "api" with key "k1", which the worker does not trust/,
    );
    assert.match(String(await why(claimed)), /claims a verification only the worker makes/);
  });

  it('signs before it encrypts: the signature travels sealed, and still verifies after decryption', async () => {
    const api = keyPair('api');
    const encryption = new EncryptionCodec([{ id: 'p1', key: crypto.randomBytes(32) }], 'mark');
    const [sent] = await encryption.encode(
      await new SigningCodec(api.signing).encode([payloadOf({ action: 'give-up' })]),
    );
    assert.equal(
      Object.keys(sent!.metadata ?? {}).some((k) => k.startsWith('shipshape-')),
      false,
    );
    const [decrypted] = await encryption.decode([sent!]);
    const value = await received(new VerifyingCodec(api.trusted), decrypted!);
    assert.equal(signerOf(value), 'api');
  });

  it('names what is wrong with a key, never the key itself', () => {
    const secret = crypto.randomBytes(32).toString('base64');
    assert.throws(
      () => parseSigningKey(secret, 'api', 'SHIPSHAPE_SIGNING_KEY_FILE'),
      /expected id:base64-seed/,
    );
    assert.throws(() => parseSigningKey(`k1:${secret.slice(4)}`, 'api', 'f'), /32 bytes in base64/);
    assert.throws(
      () => parseTrustedKeys(`api:k1`, 'T'),
      (e: Error) => {
        assert.ok(e instanceof SigningKeyError);
        assert.match(e.message, /^T: entry 1: expected signer:id:base64-key/);
        return true;
      },
    );
    assert.throws(
      () => parseTrustedKeys(`codec:k1:${secret}`, 'T'),
      /unknown signer "codec"; signers are api, reply-bridge, reconciler/,
    );
    assert.throws(
      () => parseTrustedKeys(`api:k1:${secret.slice(0, 40)}==`, 'T'),
      (e: Error) => !e.message.includes(secret.slice(0, 40)),
    );
  });

  it('reads the keys from files, refuses both a list and a file, and otherwise uses the local stack', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shipshape-signing-'));
    try {
      const made = newSigningKey('reconciler', 'k9');
      writeFileSync(path.join(dir, 'key'), `${made.signingKey}\n`);
      writeFileSync(path.join(dir, 'trusted'), `# the worker's list\n${made.trusted}\n`);
      const fromFiles = loadConfig({
        SHIPSHAPE_SIGNING_KEY_FILE: path.join(dir, 'key'),
        SHIPSHAPE_TRUSTED_SIGNERS_FILE: path.join(dir, 'trusted'),
      });
      assert.equal(trustedEntryOf(signingKeyFor(fromFiles, 'reconciler')), made.trusted);
      assert.deepEqual(trustedKeysFor(fromFiles).map(trustedEntryOf), [made.trusted]);
      assert.throws(
        () =>
          trustedKeysFor(
            loadConfig({
              SHIPSHAPE_TRUSTED_SIGNERS: made.trusted,
              SHIPSHAPE_TRUSTED_SIGNERS_FILE: path.join(dir, 'trusted'),
            }),
          ),
        (e: Error) => e instanceof ConfigError && /not both/.test(e.message),
      );
      const stack = path.join(dir, 'stack');
      assert.throws(
        () => signingKeyFor(loadConfig({ SHIPSHAPE_STACK_DIR: stack }), 'api'),
        (e: Error) => e instanceof ConfigError && /SHIPSHAPE_SIGNING_KEY_FILE/.test(e.message),
      );
      ensureLocalSecrets(stack);
      const local = loadConfig({ SHIPSHAPE_STACK_DIR: stack });
      assert.deepEqual(
        trustedKeysFor(local).map(trustedEntryOf),
        SIGNERS.map((s) => trustedEntryOf(signingKeyFor(local, s))),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a local stack made before signatures its signing keys, keeping every other secret', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shipshape-secrets-'));
    try {
      const made = ensureLocalSecrets(dir);
      const { signingKeys, ...older } = made;
      assert.ok(signingKeys);
      writeFileSync(path.join(dir, 'secrets.json'), JSON.stringify(older));
      const upgraded = ensureLocalSecrets(dir);
      assert.deepEqual(
        { ...upgraded, signingKeys: undefined },
        { ...older, signingKeys: undefined },
      );
      assert.deepEqual(Object.keys(upgraded.signingKeys ?? {}).sort(), [...SIGNERS].sort());
      assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'secrets.json'), 'utf8')), upgraded);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
