/**
 * A value sealed with a data key (src/platform/security/personal-data.ts): what personal data looks
 * like everywhere between where it enters and where it is used. Pure code: workflows pass it through
 * without opening it.
 */
export interface Sealed {
  /** `pd1:<key id>:<base64 of IV, ciphertext and tag>`. */
  sealed: string;
}

export const SEALED_PREFIX = 'pd1:';

export const isSealed = (v: unknown): v is Sealed =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { sealed?: unknown }).sealed === 'string' &&
  (v as Sealed).sealed.startsWith(SEALED_PREFIX);

/** The id of the key a value was sealed with; undefined for a value that is not sealed. */
export const sealedKeyId = (v: unknown): string | undefined =>
  isSealed(v) ? v.sealed.slice(SEALED_PREFIX.length).split(':')[0] : undefined;

/** Every sealed value anywhere in a JSON document, depth first. */
export function* sealedValuesIn(doc: unknown): Generator<Sealed> {
  if (isSealed(doc)) {
    yield doc;
    return;
  }
  if (Array.isArray(doc)) for (const v of doc) yield* sealedValuesIn(v);
  else if (typeof doc === 'object' && doc !== null)
    for (const v of Object.values(doc)) yield* sealedValuesIn(v);
}
