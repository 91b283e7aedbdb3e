import { readFileSync } from 'node:fs';
import { ConfigError } from '../config';
import type { Config } from '../config';
import { localSecretsPath, readLocalSecrets } from '../security/local-secrets';
import { parsePayloadKeys, PayloadKeyError } from './payload-keys';
import type { PayloadKey } from './payload-keys';

/**
 * The payload keys this process uses: `SHIPSHAPE_PAYLOAD_KEYS`, else the file `SHIPSHAPE_PAYLOAD_KEYS_FILE`
 * names, else the local stack's key from its secrets file. Read when a Temporal client or worker is
 * made (not in loadConfig), so `shipshape stack up` can run before the local key exists.
 */
export function payloadKeysFor(config: Config): PayloadKey[] {
  const { keys, keysFile } = config.payloadEncryption;
  if (keys) return keys;
  if (keysFile) {
    let text: string;
    try {
      text = readFileSync(keysFile, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `SHIPSHAPE_PAYLOAD_KEYS_FILE: cannot read "${keysFile}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    try {
      return parsePayloadKeys(text, `SHIPSHAPE_PAYLOAD_KEYS_FILE (${keysFile})`);
    } catch (err) {
      if (err instanceof PayloadKeyError) throw new ConfigError(err.message);
      throw err;
    }
  }
  const local = readLocalSecrets(config.stack.dir)?.payloadKey;
  if (!local) {
    throw new ConfigError(
      `no payload encryption key: set SHIPSHAPE_PAYLOAD_KEYS (id:base64-32-bytes, first one encrypts) or ` +
        `SHIPSHAPE_PAYLOAD_KEYS_FILE, or run \`shipshape stack up\` to make the local stack's key in ${localSecretsPath(config.stack.dir)}`,
    );
  }
  return parsePayloadKeys(
    `${local.id}:${local.key}`,
    `the local stack's payload key (${localSecretsPath(config.stack.dir)})`,
  );
}
