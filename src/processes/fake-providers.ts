import type { Config } from '../platform/config';
import type { Logger } from '../platform/logger';
import { createFakePaymentProvider } from '../services/payment/fake-payment';
import { createFakeCarrier } from '../services/shipping/fake-carrier';
import { Resources } from './resources';
import type { Component } from './resources';

/** The fake payment provider and carrier, on the ports their URLs name. */
export async function startFakeProviders(config: Config, log: Logger): Promise<Component> {
  return Resources.open(config, async (r) => {
    const portOf = (url: string) => Number(new URL(url).port);
    const payment = r.add(createFakePaymentProvider(), (p) => p.app.close());
    const carrier = r.add(createFakeCarrier(), (c) => c.app.close());
    await payment.app.listen({ port: portOf(config.providers.paymentUrl), host: config.api.host });
    await carrier.app.listen({ port: portOf(config.providers.carrierUrl), host: config.api.host });
    log.info(
      { payment: config.providers.paymentUrl, carrier: config.providers.carrierUrl },
      'fake providers listening',
    );
    return {};
  });
}
