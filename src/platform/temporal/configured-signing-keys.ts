import { readFileSync } from 'node:fs';
import { ConfigError } from '../config';
import type { Config } from '../config';
import { SIGNERS } from '../../domain/provenance';
import type { Signer } from '../../domain/provenance';
import { localSecretsPath, readLocalSecrets } from '../security/local-secrets';
import {
  parseSigningKey,
  parseTrustedKeys,
  SigningKeyError,
  trustedEntryOf,
} from './signing-codecs';
import type { SigningKey, TrustedKey } from './signing-codecs';

/**
 * The signing keys this process uses: its own key when it is a signer (SHIPSHAPE_SIGNING_KEY_FILE,
 * else the local stack's), and, for the worker, the public keys it trusts (SHIPSHAPE_TRUSTED_SIGNERS
 * or its file, else the local stack's signers). Read when a Temporal client or worker is made.
 */

function readFile(file: string, setting: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${setting}: cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function asConfigError<T>(make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (err instanceof SigningKeyError) throw new ConfigError(err.message);
    throw err;
  }
}

const localSecrets = (config: Config, what: string) => {
  const secrets = readLocalSecrets(config.stack.dir);
  if (!secrets?.signingKeys)
    throw new ConfigError(
      `no ${what}: set ${what === 'signing key' ? 'SHIPSHAPE_SIGNING_KEY_FILE' : 'SHIPSHAPE_TRUSTED_SIGNERS or SHIPSHAPE_TRUSTED_SIGNERS_FILE'} (docs/security.md), or run \`shipshape stack up\` to make the local stack's in ${localSecretsPath(config.stack.dir)}`,
    );
  return secrets.signingKeys;
};

/** The key `signer` signs with. */
export function signingKeyFor(config: Config, signer: Signer): SigningKey {
  const { keyFile } = config.signing;
  if (keyFile)
    return asConfigError(() =>
      parseSigningKey(
        readFile(keyFile, 'SHIPSHAPE_SIGNING_KEY_FILE'),
        signer,
        `SHIPSHAPE_SIGNING_KEY_FILE (${keyFile})`,
      ),
    );
  const local = localSecrets(config, 'signing key')[signer];
  return asConfigError(() =>
    parseSigningKey(local, signer, `the local stack's signing key of ${signer}`),
  );
}

/** The public keys the worker accepts signatures under. */
export function trustedKeysFor(config: Config): TrustedKey[] {
  const { trusted, trustedFile } = config.signing;
  if (trusted && trustedFile)
    throw new ConfigError(
      'invalid configuration: set SHIPSHAPE_TRUSTED_SIGNERS or SHIPSHAPE_TRUSTED_SIGNERS_FILE, not both',
    );
  if (trusted) return asConfigError(() => parseTrustedKeys(trusted, 'SHIPSHAPE_TRUSTED_SIGNERS'));
  if (trustedFile)
    return asConfigError(() =>
      parseTrustedKeys(
        readFile(trustedFile, 'SHIPSHAPE_TRUSTED_SIGNERS_FILE'),
        `SHIPSHAPE_TRUSTED_SIGNERS_FILE (${trustedFile})`,
      ),
    );
  const local = localSecrets(config, 'trusted signers');
  return asConfigError(() =>
    parseTrustedKeys(
      SIGNERS.map((s) => trustedEntryOf(parseSigningKey(local[s], s, `the local ${s} key`))).join(
        ',',
      ),
      "the local stack's signers",
    ),
  );
}
