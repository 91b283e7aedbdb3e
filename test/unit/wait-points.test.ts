import assert from 'node:assert/strict';
import type { OrderView, StepName, StepState } from '../../src/domain/types';
import { hasReached } from '../../src/domain/wait-points';
import { preferredWaitSeconds, waitRequest } from '../../src/orders/api/wait-request';

/** An order's view with these step states (unnamed steps PENDING). */
const view = (
  status: OrderView['status'],
  steps: Partial<Record<StepName, StepState>> = {},
): Pick<OrderView, 'status' | 'steps'> => ({
  status,
  steps: {
    inventory: { state: steps.inventory ?? 'PENDING' },
    payment: { state: steps.payment ?? 'PENDING' },
    loyalty: { state: steps.loyalty ?? 'PENDING' },
    shipping: { state: steps.shipping ?? 'PENDING' },
  },
});

describe('what a waiting caller waits for', () => {
  it('answers at its point or once the order has ended, not before', () => {
    const charging = view('CHARGING_PAYMENT', { inventory: 'SUCCEEDED', payment: 'IN_PROGRESS' });
    const paid = view('AWARDING_POINTS', { inventory: 'SUCCEEDED', payment: 'SUCCEEDED' });
    const shipped = view('FINALIZING', {
      inventory: 'SUCCEEDED',
      payment: 'SUCCEEDED',
      loyalty: 'SUCCEEDED',
      shipping: 'SUCCEEDED',
    });
    const declined = view('FAILED', { inventory: 'COMPENSATED', payment: 'FAILED' });
    assert.equal(hasReached('accepted', view('PENDING')), true);
    assert.deepEqual(
      [charging, paid, shipped, declined].map((v) => hasReached('paid', v)),
      [false, true, true, true],
    );
    assert.deepEqual(
      [charging, paid, shipped, declined].map((v) => hasReached('shipped', v)),
      [false, false, true, true],
    );
    assert.equal(hasReached('shipped', view('NEEDS_ATTENTION', { payment: 'SUCCEEDED' })), false);
  });

  it('reads `Prefer: wait=N` among other preferences, as RFC 7240 writes them', () => {
    assert.equal(preferredWaitSeconds(undefined), undefined);
    assert.equal(preferredWaitSeconds('respond-async'), undefined);
    assert.equal(preferredWaitSeconds('wait=10'), 10);
    assert.equal(preferredWaitSeconds('respond-async, WAIT = "60"'), 60);
    assert.equal(preferredWaitSeconds('return=minimal, wait=5; x=y'), 5);
    for (const bad of ['wait=0', 'wait=61', 'wait=1.5', 'wait=-1', 'wait=', 'wait=soon', 'wait'])
      assert.ok(Number.isNaN(preferredWaitSeconds(bad)), bad);
  });

  it('waits 10 s for a point without a time, and for the payment given a time alone', () => {
    assert.equal(waitRequest(undefined, undefined), undefined);
    assert.equal(waitRequest(undefined, 'respond-async'), undefined);
    assert.deepEqual(waitRequest('shipped', undefined), {
      until: 'shipped',
      seconds: 10,
      preferred: false,
    });
    assert.deepEqual(waitRequest(undefined, 'wait=30'), {
      until: 'paid',
      seconds: 30,
      preferred: true,
    });
  });
});
