import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { HeldMessages } from '../../src/platform/messaging/held-messages';
import { KeyedLanes } from '../../src/platform/messaging/lanes';
import { waitFor } from '../../src/platform/wait';

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

  it('makes submit wait while the lanes together are full, instead of buffering without bound', async () => {
    const lanes = new KeyedLanes(2, 3, () => undefined);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await lanes.submit('k', () => gate); // running
    await lanes.submit('k', async () => undefined); // queued
    await lanes.submit('k', async () => undefined); // queued: the lanes hold 3, their capacity
    let accepted = false;
    const fourth = lanes.submit('other', async () => undefined).then(() => (accepted = true));
    await delay(20);
    assert.equal(accepted, false, 'full lanes hold the submitter back');
    assert.equal(
      lanes.depths().reduce((a, b) => a + b),
      3,
    );
    release();
    await fourth;
    await lanes.idle();
    assert.deepEqual(lanes.depths(), [0, 0]);
  });

  it("lets other keys through while one key's lane is busy and long", async () => {
    // The consumers' defaults: 8 lanes holding 16 messages each on average.
    const lanes = new KeyedLanes(8, 8 * 16, () => undefined);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = 'order-slow';
    await lanes.submit(slow, () => gate);
    for (let i = 0; i < 20; i++) await lanes.submit(slow, async () => undefined); // past 16
    const done: string[] = [];
    const others = Array.from({ length: 30 }, (_, i) => `order-${i}`).filter(
      (k) => lanes.laneOf(k) !== lanes.laneOf(slow),
    );
    for (const k of others) await lanes.submit(k, async () => void done.push(k));
    await waitFor('the other keys to be done', async () => done.length === others.length);
    assert.equal(lanes.depths()[lanes.laneOf(slow)], 21, 'the slow lane still holds its own');
    release();
    await lanes.idle();
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

describe('HeldMessages', () => {
  it('tells JetStream a held message is still worked on, until it is let go', async () => {
    const held = new HeldMessages(10);
    const counts = { a: 0, b: 0 };
    const a = { working: () => void counts.a++ };
    const b = { working: () => void counts.b++ };
    held.hold(a);
    held.hold(b);
    await waitFor('a keep-alive for each', async () => counts.a >= 2 && counts.b >= 2);
    held.release(a);
    const atRelease = counts.a;
    await waitFor('more keep-alives for b', async () => counts.b >= atRelease + 3);
    assert.equal(counts.a, atRelease, 'a message let go is left alone');
    held.stop();
    assert.equal(held.size, 0);
  });
});
