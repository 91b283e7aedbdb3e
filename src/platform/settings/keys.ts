import { integer, setting, text, url } from './setting';

/**
 * The keys that protect what Shipshape sends and keeps, and the two doors to Temporal's payloads: the
 * codec server the UI decodes through and the gate in front of the UI (docs/security.md).
 */
export const keySettings = {
  payloadKeys: setting(
    'SHIPSHAPE_PAYLOAD_KEYS',
    text(),
    'the keys of Temporal payloads, `id:base64-32-bytes,…`; the first encrypts',
    { unset: "SHIPSHAPE_PAYLOAD_KEYS_FILE, or the local stack's key", secret: true },
  ),
  payloadKeysFile: setting(
    'SHIPSHAPE_PAYLOAD_KEYS_FILE',
    text(),
    'a file holding the payload keys, read when connecting to Temporal',
    { unset: 'none' },
  ),
  dataKeys: setting(
    'SHIPSHAPE_DATA_KEYS',
    text(),
    'the keys that seal personal data, `id:base64-32-bytes,…`; the first seals (the API, shipping, the client library)',
    { unset: "SHIPSHAPE_DATA_KEYS_FILE, or the local stack's key", secret: true },
  ),
  dataKeysFile: setting('SHIPSHAPE_DATA_KEYS_FILE', text(), 'a file holding the data keys', {
    unset: 'none',
  }),
  signingKeyFile: setting(
    'SHIPSHAPE_SIGNING_KEY_FILE',
    text(),
    "a signer's Ed25519 key (the API, the reply bridge, the reconciler sign what they send to workflows)",
    { unset: "the local stack's key of the process" },
  ),
  trustedSigners: setting(
    'SHIPSHAPE_TRUSTED_SIGNERS',
    text(),
    'the public keys the Temporal worker trusts, one `signer:id:base64-public-key` a line',
    { unset: "SHIPSHAPE_TRUSTED_SIGNERS_FILE, or the local stack's" },
  ),
  trustedSignersFile: setting(
    'SHIPSHAPE_TRUSTED_SIGNERS_FILE',
    text(),
    'a file of the public keys the worker trusts',
    { unset: 'none' },
  ),
  codecPort: setting(
    'CODEC_PORT',
    integer(undefined, 1, 65_535),
    'the port of the codec server the Temporal UI decodes payloads through',
    { unset: '18234 (+ offset)' },
  ),
  codecTlsCert: setting(
    'CODEC_TLS_CERT',
    text(),
    "the codec server's certificate (PEM file): it serves HTTPS only; needs CODEC_TLS_KEY",
    { unset: 'plain HTTP' },
  ),
  codecTlsKey: setting('CODEC_TLS_KEY', text(), "the codec server's key (PEM file)", {
    unset: 'none',
  }),
  uiGatePort: setting(
    'UI_GATE_PORT',
    integer(undefined, 1, 65_535),
    'the port of the gate in front of the Temporal UI, where people sign in with an API key',
    { unset: "the UI's port, 18233 (+ offset)" },
  ),
  uiUpstream: setting(
    'TEMPORAL_UI_UPSTREAM',
    url(),
    'the Temporal UI server the gate lets signed-in people through to',
    { unset: '`http://127.0.0.1:18235` (+ offset)' },
  ),
};
