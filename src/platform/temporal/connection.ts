import { Connection } from '@temporalio/client';
import type { ConnectionOptions, TLSConfig } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Config } from '../config';
import { EncryptionCodec } from './payload-codec';
import { payloadKeysFor } from './configured-payload-keys';
import { signingKeyFor, trustedKeysFor } from './configured-signing-keys';
import { SigningCodec, VerifyingCodec } from './signing-codecs';
import type { TrustedKey } from './signing-codecs';
import type { Signer } from '../../domain/provenance';
import { localTemporalTls } from '../security/local-certificates';
import { readPemFile } from '../security/pem-files';
import type { TemporalIdentity } from '../../processes/table';

/**
 * The one place that says how Shipshape reaches Temporal: address, TLS (mTLS client certificates, a
 * private CA, a server name) or an API key, and the data converter that encrypts every payload. Every
 * client and the worker connect through here, each as its own `identity`: with TEMPORAL_TLS_* unset
 * and the local stack's Temporal cluster as the server, with that identity's certificate from the
 * stack (src/platform/security/local-certificates.ts).
 */

/** The PEM files `identity` connects with: the configured ones, else the local stack's; undefined for none. */
export function temporalTlsFiles(
  config: Config,
  identity: TemporalIdentity,
): Config['temporal']['tls'] {
  if (config.temporal.tls || config.temporal.apiKey) return config.temporal.tls;
  return localTemporalTls(config, identity);
}

/** The TLS settings for Temporal, with the PEM files read; undefined for a plain connection. */
export function temporalTls(config: Config, identity: TemporalIdentity): TLSConfig | undefined {
  return readTlsFiles(temporalTlsFiles(config, identity));
}

/** TLS settings for the SDK from PEM files; undefined for none. */
export function readTlsFiles(tls: Config['temporal']['tls']): TLSConfig | undefined {
  if (!tls) return undefined;
  return {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(tls.caFile ? { serverRootCACertificate: readPemFile('TEMPORAL_TLS_CA', tls.caFile) } : {}),
    ...(tls.certFile && tls.keyFile
      ? {
          clientCertPair: {
            crt: readPemFile('TEMPORAL_TLS_CERT', tls.certFile),
            key: readPemFile('TEMPORAL_TLS_KEY', tls.keyFile),
          },
        }
      : {}),
  };
}

/** Options for `Connection.connect` and `NativeConnection.connect` (the worker's) alike. */
export function temporalConnectionOptions(
  config: Config,
  identity: TemporalIdentity,
): {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
} {
  const tls = temporalTls(config, identity);
  const { apiKey } = config.temporal;
  return {
    address: config.temporal.address,
    // An API key implies TLS (Temporal Cloud); the SDK turns it on, this only makes it explicit.
    ...(tls ? { tls } : apiKey ? { tls: {} } : {}),
    ...(apiKey ? { apiKey } : {}),
  };
}

/** A client connection to Temporal as `identity`, TLS and API key included. The caller closes it. */
export function connectTemporal(
  config: Config,
  identity: TemporalIdentity,
  extra: Pick<ConnectionOptions, 'connectTimeout'> = {},
): Promise<Connection> {
  return Connection.connect({ ...temporalConnectionOptions(config, identity), ...extra });
}

/** The flags that make Temporal's own CLI connect as `identity` (`temporal workflow … <flags>`). */
export function temporalCliFlags(config: Config, identity: TemporalIdentity): string[] {
  const tls = temporalTlsFiles(config, identity);
  return [
    '--address',
    config.temporal.address,
    '--namespace',
    config.temporal.namespace,
    ...(tls?.certFile && tls.keyFile
      ? ['--tls-cert-path', tls.certFile, '--tls-key-path', tls.keyFile]
      : []),
    ...(tls?.caFile ? ['--tls-ca-path', tls.caFile] : []),
    ...(tls?.serverName ? ['--tls-server-name', tls.serverName] : []),
  ];
}

/**
 * Every payload encrypted with the configured payload keys, and failure messages and stack traces
 * encoded with them. Throws (the process refuses to start) when no key is configured. A `signer`'s
 * signs every payload it sends (signing-codecs.ts). The worker's (`forWorker`) checks signatures and
 * hands what it cannot decrypt or verify to the workflow marked, rather than failing its task.
 */
export function temporalDataConverter(
  config: Config,
  opts: { signer?: Signer; forWorker?: boolean } = {},
): DataConverter {
  const encryption = new EncryptionCodec(
    payloadKeysFor(config),
    opts.forWorker ? 'mark' : 'refuse',
  );
  if (opts.forWorker) return workerDataConverter(encryption, trustedKeysFor(config));
  return {
    payloadCodecs: opts.signer
      ? [new SigningCodec(signingKeyFor(config, opts.signer)), encryption]
      : [encryption],
    failureConverterPath: require.resolve('./failure-converter'),
  };
}

/**
 * What a worker (or a replay of recorded histories) reads payloads with: decrypted, then checked for
 * signatures (codecs decode in reverse order), then read by the payload converter that the workflow
 * bundle holds too.
 */
export function workerDataConverter(
  encryption: EncryptionCodec,
  trusted: readonly TrustedKey[],
): DataConverter {
  return {
    payloadCodecs: [new VerifyingCodec(trusted), encryption],
    payloadConverterPath: require.resolve('./payload-converter'),
    failureConverterPath: require.resolve('./failure-converter'),
  };
}
