import { serverApiKeys } from '../platform/security/credentials';
import { readPemFile } from '../platform/security/pem-files';
import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { buildCodecServer, originOf } from '../platform/temporal/codec-server';
import { EncryptionCodec } from '../platform/temporal/payload-codec';
import { payloadKeysFor } from '../platform/temporal/configured-payload-keys';
import { Resources } from './resources';
import type { Component } from './resources';

/**
 * The codec server of this deployment: its payload keys, its API keys, on `codecServer.port`, over
 * HTTPS when it has a certificate.
 */
export async function startCodecServer(
  config: Config,
  log: Logger,
): Promise<Component & { port: number; url: string }> {
  return Resources.open(config, async (r) => {
    const app = r.add(
      await buildCodecServer({
        codec: new EncryptionCodec(payloadKeysFor(config)),
        keys: serverApiKeys(config),
        namespace: config.temporal.namespace,
        uiOrigin: originOf(config.temporal.uiUrl),
        rate: {
          ratePerMin: config.api.ratePerMin,
          anonymousRatePerMin: config.api.anonymousRatePerMin,
        },
        ...(config.codecServer.tls
          ? {
              https: {
                cert: readPemFile('CODEC_TLS_CERT', config.codecServer.tls.certFile),
                key: readPemFile('CODEC_TLS_KEY', config.codecServer.tls.keyFile),
              },
            }
          : {}),
        log,
      }),
      (a) => a.close(),
    );
    await app.listen({ port: config.codecServer.port, host: config.api.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.codecServer.port;
    const url = `${config.codecServer.tls ? 'https' : 'http'}://${config.api.host}:${port}/codec`;
    log.info({ url, uiOrigin: originOf(config.temporal.uiUrl) }, 'codec server listening');
    return { port, url };
  });
}
