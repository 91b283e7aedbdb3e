import { integer, setting, url } from './setting';

/** The payment provider and the carrier the services call (docs/providers.md). */
export const providerSettings = {
  paymentUrl: setting('PAYMENT_PROVIDER_URL', url(), "the payment provider's base URL", {
    unset: 'the fake provider `shipshape run` starts on `127.0.0.1:18081` (+ offset)',
  }),
  carrierUrl: setting('CARRIER_URL', url(), "the carrier's base URL", {
    unset: 'the fake carrier on `127.0.0.1:18082` (+ offset); with both URLs set no fakes start',
  }),
  timeoutMs: setting(
    'SHIPSHAPE_PROVIDER_TIMEOUT_MS',
    integer(5_000, 50),
    'how long one call to a provider may take',
  ),
  paymentRatePerSec: setting(
    'SHIPSHAPE_PAYMENT_RATE_PER_SEC',
    integer(0, 0, 100_000),
    'calls a second to the payment provider; 0 is unlimited',
  ),
  carrierRatePerSec: setting(
    'SHIPSHAPE_CARRIER_RATE_PER_SEC',
    integer(0, 0, 100_000),
    'calls a second to the carrier; 0 is unlimited',
  ),
};
