import { readFileSync } from 'node:fs';
import { ConfigError } from '../config';
import type { Config } from '../config';
import { parsePayloadKeys, PayloadKeyError } from '../temporal/payload-keys';
import { localSecretsPath, readLocalSecrets } from './local-secrets';
import { PersonalData } from './personal-data';

/**
 * The data keys of a process that seals or opens personal data: SHIPSHAPE_DATA_KEYS, else the file
 * SHIPSHAPE_DATA_KEYS_FILE names, else the local stack's key. The same list form as the payload keys
 * (`id:base64-32-bytes`, the first seals, every one opens).
 */
export function personalDataFor(config: Config): PersonalData {
  const { spec, file } = config.dataKeys;
  if (spec && file)
    throw new ConfigError(
      'invalid configuration: set SHIPSHAPE_DATA_KEYS or SHIPSHAPE_DATA_KEYS_FILE, not both (the first key listed seals)',
    );
  const parse = (text: string, source: string) => {
    try {
      return new PersonalData(parsePayloadKeys(text, source));
    } catch (err) {
      if (err instanceof PayloadKeyError) throw new ConfigError(err.message);
      throw err;
    }
  };
  if (spec) return parse(spec, 'SHIPSHAPE_DATA_KEYS');
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `SHIPSHAPE_DATA_KEYS_FILE: cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    return parse(text, `SHIPSHAPE_DATA_KEYS_FILE (${file})`);
  }
  const local = readLocalSecrets(config.stack.dir)?.dataKey;
  if (!local)
    throw new ConfigError(
      `no data key to seal personal data with: set SHIPSHAPE_DATA_KEYS or SHIPSHAPE_DATA_KEYS_FILE (docs/security.md), or run \`shipshape stack up\` to make the local stack's in ${localSecretsPath(config.stack.dir)}`,
    );
  return parse(`${local.id}:${local.key}`, "the local stack's data key");
}
