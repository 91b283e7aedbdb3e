import { integer, setting, text } from './setting';

/** The HTTP API: where it listens, the keys it takes, how much each caller may ask. */
export const apiSettings = {
  port: setting('PORT', integer(undefined, 1, 65_535), 'the port the API listens on', {
    unset: '13000 (+ SHIPSHAPE_PORT_OFFSET)',
  }),
  host: setting(
    'HOST',
    text('127.0.0.1'),
    'the address the API, the codec server and the UI gate listen on',
  ),
  keys: setting(
    'SHIPSHAPE_API_KEYS',
    text(),
    'the keys the API accepts: `name:scope+scope:secret,…` (docs/security.md)',
    { unset: "SHIPSHAPE_API_KEYS_FILE, or the local stack's keys", secret: true },
  ),
  keysFile: setting(
    'SHIPSHAPE_API_KEYS_FILE',
    text(),
    'a file of keys the API accepts, in the same form, read when the API starts',
    { unset: 'none' },
  ),
  callerKey: setting(
    'SHIPSHAPE_CALLER_API_KEY',
    text(),
    'the key the CLI and the demo send to the API',
    { unset: "the local stack's operator key", formerly: 'SHIPSHAPE_API_KEY', secret: true },
  ),
  ratePerMin: setting(
    'SHIPSHAPE_API_RATE_PER_MIN',
    integer(6_000, 0, 10_000_000),
    'requests a minute per API key; 0 is unlimited',
  ),
  anonymousRatePerMin: setting(
    'SHIPSHAPE_API_ANONYMOUS_RATE_PER_MIN',
    integer(60, 0, 10_000_000),
    'requests a minute per address without a valid key (a wrong one or none; 401s count); 0 is unlimited',
  ),
};
