import crypto from 'node:crypto';
import type { OrderRequest, ShippingAddress } from '../../domain/types';
import { isSealed, SEALED_PREFIX } from '../../domain/sealed';
import type { Sealed } from '../../domain/sealed';
import type { PayloadKey } from '../temporal/payload-keys';

/**
 * Personal data — the shipping address (a name, a street) and the payment method — sealed where it
 * enters (the API, the client library) with the data keys, and opened only where it is used (the
 * shipping service, to ask the carrier). Everything between keeps the sealed form: the orders table,
 * the workflow's input and history, the commands in JetStream and their dead letters, the providers'
 * call notes. AES-256-GCM, a fresh 12-byte IV per value, the key id and the purpose authenticated.
 */

const IV_BYTES = 12;
const TAG_BYTES = 16;
const PURPOSE = 'shipshape personal data';

/** A sealed value that cannot be opened here: its key is not among this process's data keys, or it was altered. */
export class PersonalDataError extends Error {
  override name = 'PersonalDataError';
}

export class PersonalData {
  private readonly byId: Map<string, Buffer>;

  /** `keys[0]` seals; every key opens (an old key stays listed while anything sealed with it is kept). */
  constructor(private readonly keys: readonly PayloadKey[]) {
    if (!keys[0]) throw new PersonalDataError('at least one data key is needed');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The ids of every key this process holds, the sealing one first. */
  get keyIds(): string[] {
    return this.keys.map((k) => k.id);
  }

  /** The id of the key new values are sealed with. */
  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  seal(value: unknown): Sealed {
    const { id, key } = this.keys[0]!;
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(`${PURPOSE}\n${id}`));
    const sealed = Buffer.concat([
      iv,
      cipher.update(JSON.stringify(value), 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return { sealed: `${SEALED_PREFIX}${id}:${sealed.toString('base64')}` };
  }

  open<T>(value: T | Sealed): T {
    if (!isSealed(value)) return value;
    const { keyId, data } = parts(value);
    const key = this.byId.get(keyId);
    if (!key)
      throw new PersonalDataError(
        `personal data sealed with data key "${keyId}", which this process does not have (it has ${[...this.byId.keys()].map((k) => `"${k}"`).join(', ')}): add it to SHIPSHAPE_DATA_KEYS`,
      );
    if (data.length < IV_BYTES + TAG_BYTES)
      throw new PersonalDataError(`sealed personal data (key "${keyId}") is too short`);
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(`${PURPOSE}\n${keyId}`));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    try {
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return JSON.parse(plain.toString('utf8')) as T;
    } catch {
      throw new PersonalDataError(
        `sealed personal data (key "${keyId}") failed authentication: it was altered or made with another key`,
      );
    }
  }

  /** The value sealed again with the current key, when another sealed it; undefined when it needs nothing. */
  reseal(value: Sealed): Sealed | undefined {
    return parts(value).keyId === this.currentKeyId ? undefined : this.seal(this.open(value));
  }

  /** An order with its personal fields sealed (those already sealed are kept). */
  sealOrder(order: OrderRequest): OrderRequest {
    return {
      ...order,
      shippingAddress: isSealed(order.shippingAddress)
        ? order.shippingAddress
        : this.seal(order.shippingAddress),
      ...(order.paymentMethod === undefined
        ? {}
        : {
            paymentMethod: isSealed(order.paymentMethod)
              ? order.paymentMethod
              : this.seal(order.paymentMethod),
          }),
    };
  }

  /** The address a carrier needs, opened. */
  address(value: ShippingAddress | Sealed): ShippingAddress {
    return this.open<ShippingAddress>(value);
  }
}

/** The key id and bytes of a sealed value. */
function parts(value: Sealed): { keyId: string; data: Buffer } {
  const rest = value.sealed.slice(SEALED_PREFIX.length);
  const colon = rest.indexOf(':');
  if (!value.sealed.startsWith(SEALED_PREFIX) || colon < 1)
    throw new PersonalDataError('sealed personal data without a key id');
  return { keyId: rest.slice(0, colon), data: Buffer.from(rest.slice(colon + 1), 'base64') };
}
