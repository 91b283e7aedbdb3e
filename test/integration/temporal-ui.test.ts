import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { uniqueId } from '../support/env';
import { CHROMIUM_ARGS, ensureChromium } from '../support/chromium';
import { hasStatus, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';
import { createLogger } from '../../src/platform/logger';
import { readLocalSecrets } from '../../src/platform/security/local-secrets';
import { startCodecServer } from '../../src/processes/codec-server';

describe('the Temporal UI, in a real browser', function () {
  this.timeout(420_000);
  let h: Harness;
  let browser: Browser;
  let codec: Awaited<ReturnType<typeof startCodecServer>> | undefined;

  before(async function () {
    this.timeout(600_000);
    const executablePath = ensureChromium((l) => process.stderr.write(`${l}\n`));
    h = await startHarness();
    // Payloads are encrypted: the UI decodes them through the codec server the stack points it at.
    codec = await startCodecServer(h.config, createLogger('codec-server', 'fatal'));
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  });
  after(async function () {
    this.timeout(60_000);
    await browser?.close();
    await codec?.stop();
    await h?.stop();
  });

  it("finds an order's run by its CustomerId search attribute and shows its steps", async () => {
    const sku = uniqueId('sku');
    const customerId = uniqueId('ui-cust');
    const orderId = uniqueId('ui');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 3 });
    await http(h, 'POST', '/orders', orderBody({ orderId, customerId, sku, quantity: 1 }));
    await waitForOrder(h, orderId, hasStatus('COMPLETED'));

    const page = await browser.newPage();
    // An operator's browser presents its API key to the codec server (as a proxy in front of it would).
    const operatorKey = readLocalSecrets(h.config.stack.dir)!.apiKeys.operator;
    await page.route(`**/codec/**`, (route) =>
      route.continue({
        headers: { ...route.request().headers(), authorization: `Bearer ${operatorKey}` },
      }),
    );
    const ui = h.config.temporal.uiUrl;
    const query = encodeURIComponent(`CustomerId="${customerId}" AND OrderStatus="COMPLETED"`);
    // Visibility is eventually consistent: reload the filtered list until the run shows up.
    let found = false;
    // On a loaded machine the list takes ~15 s to render: reloading sooner never lets it finish.
    for (let i = 0; i < 12 && !found; i++) {
      await page.goto(`${ui}/namespaces/default/workflows?query=${query}`, {
        waitUntil: 'domcontentloaded',
      });
      found = await page
        .getByText(`order-${orderId}`)
        .first()
        .waitFor({ timeout: 25_000 })
        .then(() => true)
        .catch(() => false);
    }
    assert.ok(found, `order-${orderId} is listed under its customer's filter`);
    await page.locator(`a[href*="/workflows/order-${orderId}/"]`).first().click();
    await page.waitForURL(new RegExp(`/workflows/order-${orderId}/`), { timeout: 60_000 });
    const body = page.locator('body');
    await body.getByText('orderFulfillment').first().waitFor({ timeout: 60_000 });
    // The result holds each step's state; every step of this order succeeded.
    await body.getByText('"SUCCEEDED"').first().waitFor({ timeout: 60_000 });
    // The run's history names the services' answers (the `reply` signal) and the commands sent.
    await body.getByText(/reply/).first().waitFor({ timeout: 60_000 });
    await page.screenshot({
      path: path.join(os.tmpdir(), 'shipshape-temporal-ui.png'),
      fullPage: true,
    });
    await page.close();
  });
});
