import fs from 'node:fs';
import { ConfigError } from '../config';
import type { Config } from '../config';
import { ApiKeyError, localApiKeys, parseApiKeys } from './api-keys';
import type { ApiKey } from './api-keys';
import { localSecretsPath, readLocalSecrets } from './local-secrets';

/**
 * The keys the API accepts. Secure by default: the configured keys (SHIPSHAPE_API_KEYS and the file
 * SHIPSHAPE_API_KEYS_FILE names), else the local stack's keys; with neither, the API does not start.
 */
export function serverApiKeys(config: Config): ApiKey[] {
  const fromFile = config.api.keysFile ? readKeysFile(config.api.keysFile) : [];
  const keys = [...(config.api.keys ?? []), ...fromFile];
  if (config.api.keys || config.api.keysFile) {
    if (keys.length === 0) {
      throw new ConfigError(
        'no API keys: SHIPSHAPE_API_KEYS and the file SHIPSHAPE_API_KEYS_FILE names hold no entry',
      );
    }
    const names = keys.map((k) => k.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) {
      throw new ConfigError(
        `the API key name "${twice}" is in both SHIPSHAPE_API_KEYS and SHIPSHAPE_API_KEYS_FILE`,
      );
    }
    return keys;
  }
  const local = readLocalSecrets(config.stack.dir);
  if (local) return localApiKeys(local);
  throw new ConfigError(
    `no API keys configured: set SHIPSHAPE_API_KEYS (name:scope+scope:secret, comma-separated) or ` +
      `SHIPSHAPE_API_KEYS_FILE, or start the local stack (shipshape stack up), whose keys are in ` +
      localSecretsPath(config.stack.dir),
  );
}

function readKeysFile(file: string): ApiKey[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `SHIPSHAPE_API_KEYS_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  try {
    return parseApiKeys(text, `SHIPSHAPE_API_KEYS_FILE (${file})`);
  } catch (err) {
    if (err instanceof ApiKeyError) throw new ConfigError(err.message);
    throw err;
  }
}

/** The key the CLI and the demo send: SHIPSHAPE_CALLER_API_KEY, else the local stack's operator key. */
export function callerApiKey(config: Config): string | undefined {
  return config.api.callerKey ?? readLocalSecrets(config.stack.dir)?.apiKeys.operator;
}
