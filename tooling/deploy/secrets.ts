import crypto from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { temporalClientCertificateName } from '../../src/platform/security/local-certificates';
import { PROCESS_IDENTITIES, TEMPORAL_IDENTITIES } from '../../src/processes/table';
import { SIGNERS } from '../../src/domain/provenance';
import { newSigningKey } from '../../src/platform/temporal/signing-codecs';
import { CertificateAuthority } from '../stack/certificates';
import type { CertificateRequest } from '../stack/certificates';
import { ROUTE_COMMON_NAME } from '../stack/nats-cluster';

/**
 * Every secret file docker-compose.yml mounts, made in one go into `deploy/secrets`: a password per
 * PostgreSQL role and NATS user, the payload and data keys, the API keys (an operator's, a shop's, and the
 * metrics-only one Prometheus scrapes with), the signers' keys and the list the worker trusts, and a
 * private CA with each certificate the deployment's TLS needs. A file that exists is kept, so running it again only adds what is missing.
 *
 * The folder is readable by its owner only. Compose (without swarm) bind-mounts each file as it is, and
 * the containers run as users of their own, so the files themselves are readable (0644); the CA's key
 * stays 0600 and no service mounts it.
 */

/** The NATS nodes of docker-compose.yml: each shows a route certificate of its own name. */
export const NATS_NODES = ['nats-1', 'nats-2', 'nats-3'] as const;
/** The name every Temporal server answers to in docker-compose.yml, and clients check. */
export const TEMPORAL_SERVER_NAME = 'temporal';

export const passwordFile = (role: string): string => `${role}-password`;
export const natsRouteCertificateName = (node: string): string => `${node}-route`;

/** The certificates the deployment needs, by file name. */
export function deploymentCertificates(): CertificateRequest[] {
  const temporalHosts = [TEMPORAL_SERVER_NAME, 'temporal-1', 'temporal-2'];
  return [
    {
      name: 'temporal-frontend',
      commonName: 'temporal-frontend',
      use: 'server',
      // Operators on the host reach the published port as localhost.
      dnsNames: [...temporalHosts, 'localhost'],
      ipAddresses: ['127.0.0.1'],
    },
    // History, matching and the frontend call one another with it; the system worker calls the frontend.
    {
      name: 'temporal-internode',
      commonName: 'temporal-internode',
      use: 'both',
      dnsNames: temporalHosts,
    },
    ...TEMPORAL_IDENTITIES.map((identity): CertificateRequest => ({
      name: temporalClientCertificateName(identity),
      commonName: identity,
      use: 'client',
    })),
    ...NATS_NODES.map((node): CertificateRequest => ({
      name: natsRouteCertificateName(node),
      commonName: ROUTE_COMMON_NAME,
      use: 'both',
      dnsNames: [node],
    })),
    {
      name: 'codec-server',
      commonName: 'codec-server',
      use: 'server',
      dnsNames: ['codec-server', 'localhost'],
      ipAddresses: ['127.0.0.1'],
    },
  ];
}

const hex = (bytes = 24) => crypto.randomBytes(bytes).toString('hex');

/** Makes what is missing in `dir`; returns the names of the files it made. */
export function makeDeploymentSecrets(dir: string): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const made: string[] = [];
  const write = (name: string, content: () => string) => {
    const file = path.join(dir, name);
    if (existsSync(file)) return;
    writeFileSync(file, `${content()}\n`, { mode: 0o644 });
    made.push(name);
  };
  // Hex: NATS reads the passwords through variables in its config, where some base64 would need quoting.
  for (const role of [
    ...PROCESS_IDENTITIES,
    'admin',
    'migrator',
    'postgres',
    'temporal-db',
    'grafana-admin',
  ])
    write(passwordFile(role), () => hex());
  write('payload-keys', () => `k1:${crypto.randomBytes(32).toString('base64')}`);
  write('data-keys', () => `d1:${crypto.randomBytes(32).toString('base64')}`);
  // Prometheus's key is one of the API's keys: the two files are made together.
  const keys = ['api-keys', 'prometheus-api-key'].map((f) => existsSync(path.join(dir, f)));
  if (keys[0] !== keys[1])
    throw new Error(
      `${dir} has one of api-keys and prometheus-api-key: remove it to make both, or add the other by hand`,
    );
  if (!keys[0]) {
    const prometheus = hex();
    write('api-keys', () =>
      [
        `operator:*:${hex()}`,
        `shop:orders:write+orders:read:${hex()}`,
        `prometheus:metrics:${prometheus}`,
      ].join('\n'),
    );
    write('prometheus-api-key', () => prometheus);
  }
  // The signers' keys and the list the worker trusts are made together, as `shipshape keys signing`.
  const signingFiles = [...SIGNERS.map((s) => `signing-key-${s}`), 'trusted-signers'];
  const present = signingFiles.filter((f) => existsSync(path.join(dir, f)));
  if (present.length && present.length < signingFiles.length)
    throw new Error(
      `${dir} has ${present.join(', ')} but not all of ${signingFiles.join(', ')}: run \`shipshape keys signing --out ${dir} --id <new id>\` to make a new set`,
    );
  if (!present.length) {
    const keys = SIGNERS.map((signer) => newSigningKey(signer, 'k1'));
    SIGNERS.forEach((signer, i) => write(`signing-key-${signer}`, () => keys[i]!.signingKey));
    write('trusted-signers', () => keys.map((k) => k.trusted).join('\n'));
  }
  const ca = new CertificateAuthority(dir, 'Shipshape deployment CA');
  for (const request of deploymentCertificates()) {
    const crt = `${request.name}.crt`;
    if (existsSync(path.join(dir, crt))) continue;
    const files = ca.issue(request);
    chmodSync(files.keyFile, 0o644);
    made.push(crt, `${request.name}.key`);
  }
  return made;
}
