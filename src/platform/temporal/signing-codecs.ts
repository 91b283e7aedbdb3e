import crypto from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import {
  isSigner,
  SIGNERS,
  SIGNATURE_METADATA,
  SIGNER_METADATA,
  SIGNING_KEY_METADATA,
  VERIFIED_ENCODING,
} from '../../domain/provenance';
import type { Signer } from '../../domain/provenance';
import type { UndecodablePayload } from '../../domain/types';

/**
 * The signatures on what the API, the reply bridge and the reconciler send to workflows
 * (src/domain/provenance.ts). A signer's codec signs every payload it encodes with its Ed25519 key,
 * before encryption; the worker's codec checks the signature after decryption against the public keys
 * it trusts, and marks the payload as verified for the workflow's payload converter. The codec
 * server's encode has no signing key: what it makes is never trusted as more than an operator's word.
 */

/** A signer's private key: its id (kept in each payload it signs) and the key. */
export interface SigningKey {
  signer: Signer;
  id: string;
  key: crypto.KeyObject;
}

/** A public key the worker trusts for one signer. Old keys stay listed while histories hold them. */
export interface TrustedKey {
  signer: Signer;
  id: string;
  key: crypto.KeyObject;
}

/** A signing or trusted key that cannot be used. */
export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
}

// DER prefixes that turn 32 raw bytes into PKCS#8 (private) and SPKI (public) Ed25519 keys.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RAW_32 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

function raw32(encoded: string, where: string): Buffer {
  if (!RAW_32.test(encoded))
    throw new SigningKeyError(`${where}: the key must be 32 bytes in base64`);
  return Buffer.from(encoded, 'base64');
}

function keyId(id: string, where: string): string {
  if (!KEY_ID.test(id))
    throw new SigningKeyError(
      `${where}: the key id must be 1-64 letters, digits, "_", "-" or "." starting with a letter or digit`,
    );
  return id;
}

/** `id:base64-of-a-32-byte-Ed25519-seed`, the signing key of `signer`. */
export function parseSigningKey(spec: string, signer: Signer, source: string): SigningKey {
  const entry = spec.trim();
  const colon = entry.indexOf(':');
  if (colon < 0) throw new SigningKeyError(`${source}: expected id:base64-seed`);
  const id = keyId(entry.slice(0, colon), source);
  const seed = raw32(entry.slice(colon + 1), source);
  const key = crypto.createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  return { signer, id, key };
}

/**
 * Entries `signer:id:base64-of-the-32-byte-public-key`, separated by commas or new lines (blank lines
 * and `#` lines skipped, for files). Errors name the entry by position, never by its key.
 */
export function parseTrustedKeys(spec: string, source: string): TrustedKey[] {
  const entries = spec
    .split(/[\n,]/)
    .map((e) => e.trim())
    .filter((e) => e !== '' && !e.startsWith('#'));
  return entries.map((entry, i) => {
    const where = `${source}: entry ${i + 1}`;
    const parts = entry.split(':');
    if (parts.length !== 3) throw new SigningKeyError(`${where}: expected signer:id:base64-key`);
    const [signer, id, encoded] = parts as [string, string, string];
    if (!isSigner(signer))
      throw new SigningKeyError(
        `${where}: unknown signer "${signer}"; signers are ${SIGNERS.join(', ')}`,
      );
    const key = crypto.createPublicKey({
      key: Buffer.concat([SPKI_ED25519, raw32(encoded, where)]),
      format: 'der',
      type: 'spki',
    });
    return { signer, id: keyId(id, where), key };
  });
}

/** A new signing key and the trusted-key entry the worker needs for it (`shipshape keys signing`). */
export function newSigningKey(signer: Signer, id: string): { signingKey: string; trusted: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519.length);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length);
  return {
    signingKey: `${keyId(id, 'key id')}:${seed.toString('base64')}`,
    trusted: `${signer}:${id}:${pub.toString('base64')}`,
  };
}

/** The trusted-key entry (`signer:id:public`) of a signing or trusted key: what the worker lists. */
export function trustedEntryOf(key: SigningKey | TrustedKey): string {
  const pub = (key.key.type === 'public' ? key.key : crypto.createPublicKey(key.key))
    .export({ format: 'der', type: 'spki' })
    .subarray(SPKI_ED25519.length);
  return `${key.signer}:${key.id}:${pub.toString('base64')}`;
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null | undefined) =>
  b ? Buffer.from(b).toString('utf8') : undefined;

/** What a signature covers: who signs, with which key, the payload's encoding and its bytes. */
function signedBytes(signer: string, id: string, encoding: string, data: Uint8Array): Buffer {
  const head = utf8(`${signer}\n${id}\n${encoding}\n`);
  return Buffer.concat([head, Buffer.from(data)]);
}

/** Signs every payload it encodes; decodes nothing (the payloads it reads are not its to check). */
export class SigningCodec implements PayloadCodec {
  constructor(private readonly signing: SigningKey) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { signer, id, key } = this.signing;
    return payloads.map((p) => {
      const encoding = text(p.metadata?.encoding) ?? '';
      const signature = crypto.sign(
        null,
        signedBytes(signer, id, encoding, p.data ?? new Uint8Array()),
        key,
      );
      return {
        ...p,
        metadata: {
          ...p.metadata,
          [SIGNER_METADATA]: utf8(signer),
          [SIGNING_KEY_METADATA]: utf8(id),
          [SIGNATURE_METADATA]: signature,
        },
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads;
  }
}

/**
 * The worker's check: a signed payload whose signature verifies under a trusted key becomes a verified
 * payload (VERIFIED_ENCODING, with its signer) for the workflow's payload converter. A signature that
 * does not verify, a key nobody trusts, and a payload that claims to be verified already are handed
 * over as undecodable: the workflow refuses them, and no workflow task fails over them. Unsigned
 * payloads pass as they are.
 */
export class VerifyingCodec implements PayloadCodec {
  private readonly byKey: Map<string, TrustedKey>;

  constructor(trusted: readonly TrustedKey[]) {
    this.byKey = new Map(trusted.map((k) => [`${k.signer}:${k.id}`, k]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads;
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.verify(p));
  }

  private verify(p: Payload): Payload {
    const encoding = text(p.metadata?.encoding) ?? '(none)';
    if (encoding === VERIFIED_ENCODING)
      return undecodable('it claims a verification only the worker makes', encoding);
    const signature = p.metadata?.[SIGNATURE_METADATA];
    if (!signature) return p;
    const signer = text(p.metadata?.[SIGNER_METADATA]) ?? '';
    const id = text(p.metadata?.[SIGNING_KEY_METADATA]) ?? '';
    const trusted = this.byKey.get(`${signer}:${id}`);
    if (!trusted)
      return undecodable(
        `it is signed as "${signer}" with key "${id}", which the worker does not trust`,
        encoding,
      );
    const ok = crypto.verify(
      null,
      signedBytes(signer, id, encoding, p.data ?? new Uint8Array()),
      trusted.key,
      Buffer.from(signature),
    );
    if (!ok) return undecodable(`its signature as "${signer}" does not verify`, encoding);
    if (encoding !== 'json/plain') return p; // only JSON inputs are acted on as trusted
    return {
      metadata: { encoding: utf8(VERIFIED_ENCODING), [SIGNER_METADATA]: utf8(signer) },
      data: p.data ?? new Uint8Array(),
    };
  }
}

function undecodable(why: string, encoding: string): Payload {
  const marked: UndecodablePayload = { undecodable: why, encoding };
  return { metadata: { encoding: utf8('json/plain') }, data: utf8(JSON.stringify(marked)) };
}
