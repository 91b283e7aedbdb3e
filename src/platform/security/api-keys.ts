import crypto from 'node:crypto';
import type { LocalSecrets } from './local-secrets';

/**
 * API keys: who may call the HTTP API and what each key may do. A deployment lists its keys in
 * configuration (`SHIPSHAPE_API_KEYS` or a file); the local stack uses the two keys in its secrets file.
 */

/**
 * What a key may do: place orders, read orders, operate (cancel, reconcile, resolve, stock), read the
 * metrics (what Prometheus is given: nothing else), decode payloads for the Temporal UI and CLI
 * (`codec`), encode what an operator sends through them (`codec:encode`: never an input a workflow
 * trusts, which only the app's own processes sign).
 */
export const SCOPES = [
  'orders:write',
  'orders:read',
  'operate',
  'metrics',
  'codec',
  'codec:encode',
] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  /** Shown in logs and used for rate limiting; never the secret. */
  name: string;
  scopes: Scope[];
  secret: string;
}

export const MIN_SECRET_LENGTH = 24;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
// Secrets travel in an HTTP header: visible ASCII only, and no separator of the list format.
const SECRET = /^[\x21-\x2b\x2d-\x39\x3b-\x7e]+$/;

export class ApiKeyError extends Error {
  override name = 'ApiKeyError';
}

/**
 * Parses a key list: entries `name:scope+scope:secret` (the secret without commas or colons),
 * separated by commas or new lines; `*` stands for every scope; blank lines and lines starting with
 * `#` are skipped (for key files). Errors name the entry by position and name, never by its secret.
 */
export function parseApiKeys(spec: string, source = 'API keys'): ApiKey[] {
  const entries = spec
    .split(/[\n,]/)
    .map((e) => e.trim())
    .filter((e) => e !== '' && !e.startsWith('#'));
  const keys: ApiKey[] = [];
  entries.forEach((entry, i) => {
    const first = entry.indexOf(':');
    // Scopes hold colons themselves (orders:write): the secret is what follows the last one.
    const last = entry.lastIndexOf(':');
    const name = first < 0 ? entry.slice(0, 64) : entry.slice(0, first);
    const where = `${source}: entry ${i + 1}${NAME.test(name) ? ` ("${name}")` : ''}`;
    if (first < 0 || last === first) {
      throw new ApiKeyError(`${where}: expected name:scope+scope:secret`);
    }
    if (!NAME.test(name)) {
      throw new ApiKeyError(
        `${where}: name must be 1-64 letters, digits, "_", "-" or "." starting with a letter or digit`,
      );
    }
    const scopeText = entry.slice(first + 1, last);
    const secret = entry.slice(last + 1);
    const scopes = scopeText === '*' ? [...SCOPES] : scopeText.split('+').map((s) => s.trim());
    const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (scopes.length === 0 || unknown.length) {
      throw new ApiKeyError(
        `${where}: unknown scope ${unknown.map((s) => `"${s}"`).join(', ')}; scopes are ${SCOPES.join(', ')} or *`,
      );
    }
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new ApiKeyError(`${where}: secret must be at least ${MIN_SECRET_LENGTH} characters`);
    }
    if (!SECRET.test(secret)) {
      throw new ApiKeyError(
        `${where}: secret must be printable ASCII without spaces, commas or colons`,
      );
    }
    if (keys.some((k) => k.name === name)) {
      throw new ApiKeyError(`${where}: the name "${name}" is used twice`);
    }
    if (keys.some((k) => k.secret === secret)) {
      throw new ApiKeyError(`${where}: the same secret is given to two keys`);
    }
    keys.push({ name, scopes: [...new Set(scopes as Scope[])], secret });
  });
  return keys;
}

const digest = (s: string) => crypto.createHash('sha256').update(s, 'utf8').digest();

/**
 * The key whose secret was presented, or undefined. Both sides are hashed to the same length and
 * compared with timingSafeEqual, and every key is compared, so the time taken says nothing about
 * how much of a secret was right nor which key matched.
 */
export function findApiKey(keys: ApiKey[], presented: string | undefined): ApiKey | undefined {
  if (presented === undefined || presented === '') return undefined;
  const given = digest(presented);
  let found: ApiKey | undefined;
  for (const key of keys) {
    if (crypto.timingSafeEqual(digest(key.secret), given) && !found) found = key;
  }
  return found;
}

/** The local stack's keys: `client` places and reads orders; `operator` may do everything. */
export function localApiKeys(secrets: LocalSecrets): ApiKey[] {
  return [
    { name: 'client', scopes: ['orders:write', 'orders:read'], secret: secrets.apiKeys.client },
    { name: 'operator', scopes: [...SCOPES], secret: secrets.apiKeys.operator },
  ];
}

export function hasScope(key: ApiKey, scope: Scope): boolean {
  return key.scopes.includes(scope);
}
