import assert from 'node:assert/strict';
import { STEP_UNDO, UNDO_OF, UNDO_ORDER, undoAtService } from '../../src/domain/compensations';
import type { Step } from '../../workflows/saga';
import { command } from '../../workflows/command-delivery';

describe('a step and its compensation', () => {
  it('takes only the undo UNDO_OF names for its command (checked by the compiler)', () => {
    const reserve: Step<'inventory.reserve'> = {
      name: 'inventory',
      shows: 'RESERVING_INVENTORY',
      command: command('inventory.reserve', { items: [{ sku: 'SKU-1', quantity: 1 }] }),
      undo: (reserveCommandId) => command('inventory.release', { reserveCommandId }),
    };
    const wrong: Step<'payment.charge'> = {
      name: 'payment',
      shows: 'CHARGING_PAYMENT',
      command: command('payment.charge', { customerId: 'c', amountCents: 1, currency: 'EUR' }),
      // @ts-expect-error a charge is undone by a refund, never by a release of stock
      undo: (reserveCommandId) => command('inventory.release', { reserveCommandId }),
    };
    assert.equal(reserve.undo('x').type, UNDO_OF['inventory.reserve']);
    assert.equal(wrong.command.type, 'payment.charge');
  });

  it('undoes every step, newest first, and every effect a service makes', () => {
    assert.deepEqual(UNDO_ORDER, ['shipping', 'loyalty', 'payment', 'inventory']);
    for (const [forward, undo] of Object.entries(UNDO_OF))
      assert.equal(undoAtService(forward as keyof typeof UNDO_OF), undo);
    assert.equal(undoAtService('inventory.commit'), 'inventory.release');
    assert.equal(undoAtService('payment.refund'), undefined);
    assert.equal(STEP_UNDO.payment, 'payment.refund');
  });
});
