import { existsSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import {
  temporalClientCertificateName,
  temporalClientFiles,
} from '../../src/platform/security/local-certificates';
import { readTlsFiles } from '../../src/platform/temporal/connection';
import { TEMPORAL_IDENTITIES } from '../../src/processes/table';
import type { TemporalIdentity } from '../../src/processes/table';
import { LOOPBACK_NAMES, localCertificateAuthority } from './certificates';
import type { CertificateFiles } from './certificates';

/**
 * The local Temporal cluster's certificates: the frontend's (it wants one from every client, signed by
 * the stack's CA), the one its nodes show each other (history, matching and frontend call one another
 * with it, and want it back), the one its own system worker calls the frontend with, and a client
 * certificate for each Temporal identity (src/processes/table.ts), named after it.
 */
export interface TemporalClusterTls {
  caFile: string;
  frontend: CertificateFiles;
  internode: CertificateFiles;
  systemWorker: CertificateFiles;
}

/** Issues (or finds) the cluster's certificates and every identity's client certificate in `tlsDir`. */
export function issueTemporalCertificates(tlsDir: string): TemporalClusterTls {
  const ca = localCertificateAuthority(tlsDir);
  for (const identity of TEMPORAL_IDENTITIES)
    ca.issue({
      name: temporalClientCertificateName(identity),
      commonName: identity,
      use: 'client',
    });
  return {
    caFile: ca.certFile,
    frontend: ca.issue({
      name: 'temporal-frontend',
      commonName: 'temporal-frontend',
      use: 'server',
      ...LOOPBACK_NAMES,
    }),
    internode: ca.issue({
      name: 'temporal-internode',
      commonName: 'temporal-internode',
      use: 'both',
      ...LOOPBACK_NAMES,
    }),
    systemWorker: ca.issue({
      name: 'temporal-system-worker',
      commonName: 'temporal-system-worker',
      use: 'client',
    }),
  };
}

/** `identity`'s client certificate for the SDK, read from `tlsDir`; undefined until it is issued. */
export function temporalClientTls(
  tlsDir: string,
  identity: TemporalIdentity,
): TLSConfig | undefined {
  const files = temporalClientFiles(tlsDir, identity);
  return existsSync(files.certFile) ? readTlsFiles(files) : undefined;
}
