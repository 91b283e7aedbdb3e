import crypto from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { UndecodablePayload, UnencryptedPayload } from '../../domain/types';
import { PAYLOAD_KEY_BYTES, PayloadKeyError } from './payload-keys';
import type { PayloadKey } from './payload-keys';

export { PayloadKeyError };
export type { PayloadKey };

/**
 * Encrypts every Temporal payload (workflow and activity inputs and results, signals, updates, queries,
 * memos, and failure messages and stack traces through the failure converter) with AES-256-GCM, so the
 * Temporal server and its database hold no order data in clear. Runs in the client and the worker,
 * outside the workflow sandbox: workflow code never sees ciphertext.
 */

/** The `encoding` metadata of an encrypted payload; the original payload (metadata too) is inside. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata naming the key a payload was encrypted with, so keys can rotate. */
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A payload that cannot be decoded: an unknown key, or failed authentication. */
export class PayloadDecryptionError extends Error {
  override name = 'PayloadDecryptionError';
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const JSON_ENCODING = 'json/plain';
const text = (b: Uint8Array | null | undefined) =>
  b ? Buffer.from(b).toString('utf8') : undefined;

/** A clear payload as JSON `{ unencrypted: <its JSON value, or null>, encoding }`. */
function markedUnencrypted(payload: Payload, encoding: string): Payload {
  let value: unknown = null;
  if (encoding === JSON_ENCODING) {
    try {
      value = JSON.parse(text(payload.data) ?? 'null');
    } catch {
      value = null;
    }
  }
  const marked: UnencryptedPayload = { unencrypted: value, encoding };
  return { metadata: { encoding: utf8(JSON_ENCODING) }, data: utf8(JSON.stringify(marked)) };
}

/**
 * AES-256-GCM over the serialized payload, with a fresh random 12-byte IV per payload. The stored
 * bytes are `IV || ciphertext || tag`; the key id is authenticated as additional data, so a payload
 * relabelled with another key id fails to decode rather than being read under the wrong key.
 */
export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  private readonly current: PayloadKey;

  /**
   * `keys[0]` encrypts; any of `keys` decrypts (old keys stay listed until no history needs them).
   * `undecodable`: what a payload that cannot be decrypted becomes. `refuse` throws, for readers that
   * answer a person (the codec server, clients). `mark` hands it over as `{ undecodable, encoding }`
   * (UndecodablePayload), for the worker: a signal or update that an operator sent under an unknown
   * key, altered or truncated would otherwise fail every workflow task of its order, and stop the
   * order where it stands; marked, the workflow refuses the input and goes on.
   */
  constructor(
    keys: readonly PayloadKey[],
    private readonly undecodable: 'refuse' | 'mark' = 'refuse',
  ) {
    const [first] = keys;
    if (!first) throw new PayloadKeyError('at least one payload key is needed');
    for (const k of keys) {
      if (k.key.length !== PAYLOAD_KEY_BYTES)
        throw new PayloadKeyError(`payload key "${k.id}" must be ${PAYLOAD_KEY_BYTES} bytes`);
    }
    this.current = first;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The id of the key that encrypts. */
  get encryptingKeyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (this.undecodable === 'refuse') return this.decrypt(p);
      try {
        return this.decrypt(p);
      } catch (err) {
        if (!(err instanceof PayloadDecryptionError)) throw err;
        const marked: UndecodablePayload = {
          undecodable: err.message,
          encoding: text(p.metadata?.encoding) ?? '(none)',
        };
        return { metadata: { encoding: utf8(JSON_ENCODING) }, data: utf8(JSON.stringify(marked)) };
      }
    });
  }

  private encrypt(payload: Payload): Payload {
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(this.current.id, 'utf8'));
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: utf8(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: utf8(this.current.id),
      },
      data: sealed,
    };
  }

  /*
   * A payload that is not encrypted is not decrypted, nor passed through as if it were: it is handed
   * over marked, as `{ unencrypted, encoding }` (UnencryptedPayload). Everything Shipshape writes is
   * encrypted, so a clear payload comes from someone who can write to the namespace without going
   * through a key: an operator signalling with the Temporal CLI without the codec server, say. The
   * workflow decides what such an input may do (a reconcile: yes; a reply, a resolve or a cancel: no).
   * Refusing it here instead would fail every workflow task of that order, and stop the order where it
   * stands. Search attributes, which must stay readable by the server, never pass through a codec.
   */
  private decrypt(payload: Payload): Payload {
    const encoding = text(payload.metadata?.encoding);
    if (encoding !== ENCRYPTED_ENCODING) return markedUnencrypted(payload, encoding ?? '(none)');
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
    if (!keyId) throw new PayloadDecryptionError(`encrypted payload without "${KEY_ID_METADATA}"`);
    const key = this.byId.get(keyId);
    if (!key) {
      throw new PayloadDecryptionError(
        `payload encrypted with key "${keyId}", which is not among the configured payload keys (${[...this.byId.keys()].map((k) => `"${k}"`).join(', ')}); add it to SHIPSHAPE_PAYLOAD_KEYS to read this data`,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES)
      throw new PayloadDecryptionError(`encrypted payload (key "${keyId}") is too short`);
    const iv = data.subarray(0, IV_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(keyId, 'utf8'));
    decipher.setAuthTag(tag);
    let plain: Buffer;
    try {
      plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new PayloadDecryptionError(
        `encrypted payload (key "${keyId}") failed authentication: it was altered or made with a different key`,
      );
    }
    try {
      return temporal.api.common.v1.Payload.decode(plain);
    } catch {
      throw new PayloadDecryptionError(`encrypted payload (key "${keyId}") holds no payload`);
    }
  }
}
