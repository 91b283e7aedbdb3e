import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * What the Temporal server finds wrong in a dynamic config file: unknown keys (a misspelt setting),
 * values of the wrong type, YAML it cannot read. The server itself only logs a warning for these and
 * runs without the setting, and `validate-dynamic-config` exits 0 whatever it finds, so its lines
 * are read here ("  warning: unregistered key …", "  error: decode error: …").
 */
export async function dynamicConfigProblems(serverBin: string, file: string): Promise<string[]> {
  const { stdout, stderr } = await run(serverBin, ['validate-dynamic-config', file]);
  return `${stdout}\n${stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(warning|error):/.test(l));
}
