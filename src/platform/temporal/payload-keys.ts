/** One payload encryption key: its id (kept in each payload it encrypts) and 32 bytes. */
export interface PayloadKey {
  id: string;
  key: Buffer;
}

/** No usable payload key: a malformed list, an unreadable file, or none configured at all. */
export class PayloadKeyError extends Error {
  override name = 'PayloadKeyError';
}

export const PAYLOAD_KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** 32 bytes in standard base64: 42 characters, one whose low bits are zero, and one `=`. */
const BASE64_32_BYTES = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/**
 * Parses a key list: entries `id:base64-of-32-bytes`, separated by commas or new lines (blank lines
 * and lines starting with `#` are skipped, for key files). The first key encrypts; every key decrypts.
 * Errors name the entry by position and id, never by its key.
 */
export function parsePayloadKeys(spec: string, source = 'payload keys'): PayloadKey[] {
  const entries = spec
    .split(/[\n,]/)
    .map((e) => e.trim())
    .filter((e) => e !== '' && !e.startsWith('#'));
  if (entries.length === 0) throw new PayloadKeyError(`${source}: no key given`);
  const keys: PayloadKey[] = [];
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    const where = `${source}: entry ${i + 1}${KEY_ID.test(id) ? ` ("${id}")` : ''}`;
    if (colon < 0) throw new PayloadKeyError(`${where}: expected id:base64-key`);
    if (!KEY_ID.test(id)) {
      throw new PayloadKeyError(
        `${where}: the id must be 1-64 letters, digits, "_", "-" or "." starting with a letter or digit`,
      );
    }
    const encoded = entry.slice(colon + 1);
    // Checked as text: Buffer.from would silently skip characters that are not base64.
    if (!BASE64_32_BYTES.test(encoded)) {
      throw new PayloadKeyError(
        `${where}: the key must be ${PAYLOAD_KEY_BYTES} bytes in base64 (e.g. from \`openssl rand -base64 32\`)`,
      );
    }
    if (keys.some((k) => k.id === id))
      throw new PayloadKeyError(`${where}: the id "${id}" is used twice`);
    keys.push({ id, key: Buffer.from(encoded, 'base64') });
  });
  return keys;
}

/** The keys back in the `id:base64` list form (e.g. to hand the same keys to `ShipshapeClient`). */
export function formatPayloadKeys(keys: readonly PayloadKey[]): string {
  return keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
}
