import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, temporalModeNamed } from '../config';
import type { Config, TemporalMode } from '../config';
import type { TemporalIdentity } from '../../processes/table';

/**
 * The local stack's certificates: a private CA and what it issued, in `<stack dir>/tls` (made by
 * tooling/stack/certificates.ts when the stack starts its Temporal cluster). The cluster's frontend
 * wants a client certificate from every caller; each process of the app presents its own. A deployment
 * names its files in configuration instead (TEMPORAL_TLS_*); nothing here is read then.
 */

export const localTlsDir = (stackDir: string): string => path.join(stackDir, 'tls');

/** The name the local servers' certificates carry, which clients check (they dial 127.0.0.1). */
export const LOCAL_SERVER_NAME = 'localhost';

/** The file, in the stack's folder, where the stack notes how it last started Temporal. */
export const STACK_STATE_FILE = 'stack.json';

/** The name (in the stack's tls folder) of `identity`'s client certificate for Temporal. */
export const temporalClientCertificateName = (identity: TemporalIdentity): string =>
  `temporal-client-${identity}`;

/** The PEM files of `identity`'s client certificate for Temporal in a tls folder, with the CA's. */
export function temporalClientFiles(
  tlsDir: string,
  identity: TemporalIdentity,
): { serverName: string; caFile: string; certFile: string; keyFile: string } {
  const name = temporalClientCertificateName(identity);
  return {
    serverName: LOCAL_SERVER_NAME,
    caFile: path.join(tlsDir, 'ca.crt'),
    certFile: path.join(tlsDir, `${name}.crt`),
    keyFile: path.join(tlsDir, `${name}.key`),
  };
}

/** How the local stack last started Temporal; undefined when it never did. */
export function localTemporalMode(stackDir: string): TemporalMode | undefined {
  try {
    const state = JSON.parse(readFileSync(path.join(stackDir, STACK_STATE_FILE), 'utf8')) as {
      temporal?: string;
    };
    return temporalModeNamed(state.temporal ?? '');
  } catch {
    return undefined;
  }
}

/**
 * `identity`'s certificate for the local stack's Temporal when that is the cluster (which refuses a
 * caller without one) and the configuration names that Temporal; undefined otherwise (the dev server
 * wants none).
 */
export function localTemporalTls(
  config: Config,
  identity: TemporalIdentity,
): Config['temporal']['tls'] {
  const { dir, ports } = config.stack;
  if (config.temporal.address !== `127.0.0.1:${ports.temporal}`) return undefined;
  if ((localTemporalMode(dir) ?? config.stack.temporal) !== 'cluster') return undefined;
  const files = temporalClientFiles(localTlsDir(dir), identity);
  if (!existsSync(files.certFile))
    throw new ConfigError(
      `the local Temporal cluster wants a client certificate and ${files.certFile} does not exist; run \`shipshape stack up\``,
    );
  return files;
}
