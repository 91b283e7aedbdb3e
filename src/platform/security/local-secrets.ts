import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PROCESS_IDENTITIES } from '../../processes/table';
import type { ProcessIdentity } from '../../processes/table';
import { SIGNERS } from '../../domain/provenance';
import type { Signer } from '../../domain/provenance';

/**
 * The credentials of the local stack, made once by `shipshape stack up` and kept in its data folder
 * (mode 0600), so that a local stack is closed like a real deployment: every process has its own NATS
 * user and PostgreSQL role, the API wants a key, payloads are encrypted. A deployment sets the same
 * things through configuration instead; nothing here is read when the configuration names them.
 */

export interface LocalSecrets {
  /** API keys by scope set: `client` places and reads orders; `operator` may do everything. */
  apiKeys: { client: string; operator: string };
  /** The payload encryption key: an id (kept in each payload's metadata) and 32 bytes, base64. */
  payloadKey: { id: string; key: string };
  /** NATS password of each process's user (the user name is the identity). */
  nats: Record<ProcessIdentity, string> & { admin: string };
  /** PostgreSQL password of each process's role, plus the migration role that owns the schemas. */
  postgres: Record<ProcessIdentity, string> & { migrator: string };
  /**
   * Each signer's Ed25519 key, `id:base64-seed` (src/domain/provenance.ts). Added to a secrets file
   * made before signatures existed, the first time it is read by `ensureLocalSecrets`.
   */
  signingKeys?: Record<Signer, string>;
  /** The key that seals personal data (id and 32 bytes, base64); added to an older file like the above. */
  dataKey?: { id: string; key: string };
}

export const LOCAL_SECRETS_FILE = 'secrets.json';

const token = (bytes = 24) => crypto.randomBytes(bytes).toString('base64url');

function generate(): LocalSecrets {
  const perProcess = () =>
    Object.fromEntries(PROCESS_IDENTITIES.map((p) => [p, token()])) as Record<
      ProcessIdentity,
      string
    >;
  return {
    apiKeys: { client: `ssk_client_${token()}`, operator: `ssk_operator_${token()}` },
    payloadKey: { id: 'local-1', key: crypto.randomBytes(32).toString('base64') },
    nats: { ...perProcess(), admin: token() },
    postgres: { ...perProcess(), migrator: token() },
    signingKeys: newSigningKeys(),
    dataKey: newDataKey(),
  };
}

const newDataKey = () => ({
  id: `local-${token(4)}`,
  key: crypto.randomBytes(32).toString('base64'),
});

/** A signing key per signer: 32 random bytes are an Ed25519 seed. */
const newSigningKeys = () =>
  Object.fromEntries(
    // A key id of its own per stack: recorded histories keep the public keys of every stack that
    // recorded them, side by side (test/replay/histories/signers.txt).
    SIGNERS.map((s) => [s, `local-${token(4)}:${crypto.randomBytes(32).toString('base64')}`]),
  ) as Record<Signer, string>;

export function localSecretsPath(stackDir: string): string {
  return path.join(stackDir, LOCAL_SECRETS_FILE);
}

/** The local stack's secrets, or undefined when no local stack has made them. */
export function readLocalSecrets(stackDir: string): LocalSecrets | undefined {
  const file = localSecretsPath(stackDir);
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as LocalSecrets;
}

/** Reads the local stack's secrets, making them first if there are none (never replaced: data made with them stays readable). */
export function ensureLocalSecrets(stackDir: string): LocalSecrets {
  const existing = readLocalSecrets(stackDir);
  if (existing?.signingKeys && existing.dataKey) return existing;
  if (existing) {
    // Made before signing or data keys: the same secrets, and what is missing. Written whole, then
    // renamed over.
    const upgraded = {
      ...existing,
      signingKeys: existing.signingKeys ?? newSigningKeys(),
      dataKey: existing.dataKey ?? newDataKey(),
    };
    const tmp = `${localSecretsPath(stackDir)}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(upgraded, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, localSecretsPath(stackDir));
    return upgraded;
  }
  fs.mkdirSync(stackDir, { recursive: true });
  const secrets = generate();
  // wx: two starts racing must not write different secrets.
  try {
    fs.writeFileSync(localSecretsPath(stackDir), JSON.stringify(secrets, null, 2) + '\n', {
      mode: 0o600,
      flag: 'wx',
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readLocalSecrets(stackDir)!;
    throw err;
  }
  return secrets;
}
