import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Config } from '../../src/platform/config';
import { temporalCliFlags } from '../../src/platform/temporal/connection';
import { temporalBinary } from '../../tooling/stack/binaries';

const run = promisify(execFile);

/**
 * Temporal's own CLI (the one the stack builds) against the test stack's Temporal, as an operator runs
 * it: `cli('workflow', 'terminate', '--workflow-id', …)`. Resolves with its output; rejects when it
 * exits non-zero.
 */
export async function temporalCli(
  config: Config,
): Promise<(...args: string[]) => Promise<{ stdout: string; stderr: string }>> {
  const bin = await temporalBinary(config.stack.binCacheDir, () => undefined);
  return (...args) => run(bin, [...args, ...temporalCliFlags(config, 'cli')]);
}
