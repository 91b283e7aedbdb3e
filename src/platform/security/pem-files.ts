import { readFileSync } from 'node:fs';
import { ConfigError } from '../config';

/** A PEM file a setting names, read; a clear error naming the setting when it cannot be. */
export function readPemFile(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(
      `${variable}: cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}
