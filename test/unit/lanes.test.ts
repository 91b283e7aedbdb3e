import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { KeyedLanes } from '../../src/platform/messaging/lanes';

describe('KeyedLanes', () => {
  it("runs one key's tasks in order and different keys in parallel", async () => {
    const lanes = new KeyedLanes(4, 100, (e) => assert.fail(String(e)));
    const seen: Record<string, number[]> = {};
    let running = 0;
    let maxRunning = 0;
    for (let i = 0; i < 20; i++) {
      for (const key of ['a', 'b', 'c', 'd', 'e']) {
        await lanes.submit(key, async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await delay(Math.random() * 2);
          (seen[key] ??= []).push(i);
          running--;
        });
      }
    }
    await lanes.idle();
    for (const key of ['a', 'b', 'c', 'd', 'e'])
      assert.deepEqual(
        seen[key],
        Array.from({ length: 20 }, (_, i) => i),
      );
    assert.ok(maxRunning > 1, 'lanes ran in parallel');
    assert.ok(maxRunning <= 4, 'never more tasks at once than lanes');
  });

  it('makes submit wait while a lane is full, instead of buffering without bound', async () => {
    const lanes = new KeyedLanes(1, 2, () => undefined);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await lanes.submit('k', () => gate); // running
    await lanes.submit('k', async () => undefined); // queued 1
    await lanes.submit('k', async () => undefined); // queued 2: lane full
    let accepted = false;
    const fourth = lanes.submit('k', async () => undefined).then(() => (accepted = true));
    await delay(20);
    assert.equal(accepted, false, 'a full lane holds the submitter back');
    assert.deepEqual(lanes.depths(), [3]);
    release();
    await fourth;
    await lanes.idle();
    assert.deepEqual(lanes.depths(), [0]);
  });

  it('keeps going after a task fails and reports the error', async () => {
    const errors: unknown[] = [];
    const lanes = new KeyedLanes(2, 10, (e) => errors.push(e));
    const done: string[] = [];
    await lanes.submit('x', () => Promise.reject(new Error('boom')));
    await lanes.submit('x', async () => void done.push('after'));
    await lanes.idle();
    assert.deepEqual(done, ['after']);
    assert.equal((errors[0] as Error).message, 'boom');
  });

  it('maps a key to the same lane every time', () => {
    const a = new KeyedLanes(8, 1, () => undefined);
    const b = new KeyedLanes(8, 1, () => undefined);
    for (const key of ['order-1', 'order-2', 'x', '']) assert.equal(a.laneOf(key), b.laneOf(key));
  });
});
