import { readFileSync } from 'node:fs';
import { Connection } from '@temporalio/client';
import type { ConnectionOptions, TLSConfig } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { ConfigError } from '../config';
import type { Config } from '../config';
import { EncryptionCodec } from './payload-codec';
import { payloadKeysFor } from './configured-payload-keys';
import { signingKeyFor, trustedKeysFor } from './configured-signing-keys';
import { SigningCodec, VerifyingCodec } from './signing-codecs';
import type { TrustedKey } from './signing-codecs';
import type { Signer } from '../../domain/provenance';

/**
 * The one place that says how Shipshape reaches Temporal: address, TLS (mTLS client certificates, a
 * private CA, a server name) or an API key, and the data converter that encrypts every payload. Every
 * client and the worker connect through here.
 */

function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(
      `${variable}: cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** The TLS settings for Temporal, with the PEM files read; undefined for a plain connection. */
export function temporalTls(config: Config): TLSConfig | undefined {
  const tls = config.temporal.tls;
  if (!tls) return undefined;
  return {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(tls.caFile ? { serverRootCACertificate: readPem('TEMPORAL_TLS_CA', tls.caFile) } : {}),
    ...(tls.certFile && tls.keyFile
      ? {
          clientCertPair: {
            crt: readPem('TEMPORAL_TLS_CERT', tls.certFile),
            key: readPem('TEMPORAL_TLS_KEY', tls.keyFile),
          },
        }
      : {}),
  };
}

/** Options for `Connection.connect` and `NativeConnection.connect` (the worker's) alike. */
export function temporalConnectionOptions(config: Config): {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
} {
  const tls = temporalTls(config);
  const { apiKey } = config.temporal;
  return {
    address: config.temporal.address,
    // An API key implies TLS (Temporal Cloud); the SDK turns it on, this only makes it explicit.
    ...(tls ? { tls } : apiKey ? { tls: {} } : {}),
    ...(apiKey ? { apiKey } : {}),
  };
}

/** A client connection to Temporal, TLS and API key included. The caller closes it. */
export function connectTemporal(
  config: Config,
  extra: Pick<ConnectionOptions, 'connectTimeout'> = {},
): Promise<Connection> {
  return Connection.connect({ ...temporalConnectionOptions(config), ...extra });
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
