import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { DEPLOYMENT_DYNAMIC_CONFIG } from './temporal-node';

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

/** Dynamic config settings by key, each with one value for every constraint. */
export type DynamicConfigValues = Record<string, string | number | boolean>;

/**
 * Writes `file`: the deployment's dynamic config with `values` added, for a cluster that runs with a
 * few settings of its own (a drill's shorter intervals). A key the deployment sets already is refused:
 * the server would read only one of the two.
 */
export function withDynamicConfig(file: string, values: DynamicConfigValues): string {
  const base = readFileSync(DEPLOYMENT_DYNAMIC_CONFIG, 'utf8');
  const taken = Object.keys(values).filter((k) =>
    new RegExp(`^${k.replace(/\./g, '\\.')}:`, 'm').test(base),
  );
  if (taken.length)
    throw new Error(`${DEPLOYMENT_DYNAMIC_CONFIG} sets ${taken.join(', ')} already`);
  const added = Object.entries(values)
    .map(([k, v]) => `${k}:\n  - value: ${JSON.stringify(v)}\n`)
    .join('');
  writeFileSync(file, `${base}\n# Added for this stack only.\n${added}`);
  return file;
}
