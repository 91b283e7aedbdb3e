import assert from 'node:assert/strict';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { waitFor } from '../../src/platform/wait';
import { uniqueId } from '../support/env';
import { hasStatus, http, orderBody, startHarness, waitForOrder } from '../support/harness';
import type { Harness } from '../support/harness';

describe('OpenTelemetry: one connected trace per order', function () {
  this.timeout(120_000);
  const exporter = new InMemorySpanExporter();
  let h: Harness;

  before(async function () {
    this.timeout(120_000);
    h = await startHarness({}, { spanProcessor: new SimpleSpanProcessor(exporter) });
  });
  after(async function () {
    this.timeout(60_000);
    await h?.stop();
    exporter.reset();
  });

  it('follows an order from the API through the workflow, its commands, the services and their replies', async () => {
    const sku = uniqueId('sku');
    const orderId = uniqueId('traced');
    await http(h, 'PUT', `/inventory/${sku}`, { available: 3 });
    await http(
      h,
      'POST',
      '/orders',
      orderBody({ orderId, customerId: uniqueId('c'), sku, quantity: 1 }),
    );
    await waitForOrder(h, orderId, hasStatus('COMPLETED'));

    const spans = () => exporter.getFinishedSpans();
    const root = await waitFor('the API span', () =>
      spans().find((s) => s.name === 'POST /orders'),
    );
    const inTrace = () =>
      spans().filter((s) => s.spanContext().traceId === root.spanContext().traceId);
    const names = (list: ReadableSpan[]) => new Set(list.map((s) => s.name));
    const expected = [
      'POST /orders',
      'StartWorkflow:orderFulfillment',
      'RunWorkflow:orderFulfillment',
      'process cmd.inventory.reserve',
      'process cmd.payment.charge',
      'process cmd.loyalty.award',
      'process cmd.shipping.create',
      'process cmd.inventory.commit',
      'deliver reply.inventory.reserve',
      'deliver reply.shipping.create',
      'CompleteActivity:sendCommand',
    ];
    const found = await waitFor('every part of the order in one trace', () => {
      const n = names(inTrace());
      return expected.every((e) => n.has(e)) ? n : undefined;
    }).catch(() => names(inTrace()));
    for (const e of expected)
      assert.ok(
        found.has(e),
        `span "${e}" in the order's trace; found: ${[...found].sort().join(', ')}`,
      );

    // Connected: every span of the trace but the root has its parent in the trace too.
    const all = inTrace();
    const ids = new Set(all.map((s) => s.spanContext().spanId));
    const orphans = all.filter((s) => s !== root && s.parentSpanId && !ids.has(s.parentSpanId));
    assert.deepEqual(
      orphans.map((s) => s.name),
      [],
    );
    const service = all.find((s) => s.name === 'process cmd.payment.charge')!;
    assert.equal(service.attributes['shipshape.order_id'], orderId);
  });
});
