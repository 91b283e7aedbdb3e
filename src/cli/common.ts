import { InvalidArgumentError } from 'commander';
import { loadConfig } from '../platform/config';
import type { Config } from '../platform/config';
import { createPool } from '../platform/db/pool';

/** Exit codes: 0 done, 1 failed, 2 bad usage or configuration, 3 not found, 4 conflict. */
export const EXIT = { failed: 1, usage: 2, notFound: 3, conflict: 4 } as const;

/** A command's failure, with the exit code it earns. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}

/** Progress and errors on stderr; results on stdout. */
export const say = (line: string) => process.stderr.write(`${line}\n`);
export const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
export const config = (): Config => loadConfig();
export const apiUrl = (c: Config) => `http://127.0.0.1:${c.api.port}`;

/** "90s", "5m", "1h", "250ms" or plain milliseconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new CliError(`"${v}" is not a duration (use e.g. 30s, 5m, 1h)`, EXIT.usage);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms'];
  return Number(m[1]) * unit;
}

export const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a whole number of 1 or more');
  return n;
};
export const nonNegativeInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('must be a whole number of 0 or more');
  return n;
};

/** A short-lived pool for one CLI command. */
export const withPool = async <T>(
  fn: (pool: ReturnType<typeof createPool>) => Promise<T>,
): Promise<T> => {
  const pool = createPool(config(), 'cli', { max: 2 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
};
