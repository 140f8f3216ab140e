import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapLimit } from '../../src/util/map-limit.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('mapLimit keeps list order and never has more than `limit` calls pending', async () => {
  let pending = 0;
  let most = 0;
  const started: number[] = [];
  const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (x, i) => {
    started.push(i);
    most = Math.max(most, ++pending);
    await tick(x * 2);
    pending--;
    return x * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30, 0, 60]);
  assert.equal(most, 3);
  assert.deepEqual([...started].sort(), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(started.slice(0, 3), [0, 1, 2], 'calls start in list order');
  assert.deepEqual(await mapLimit([], 4, async () => 1), []);
  assert.deepEqual(await mapLimit([1, 2], 10, async (x) => x + 1), [2, 3]);
});

test('mapLimit: after a failure no new call starts, calls in flight finish, the first error is thrown', async () => {
  const started: number[] = [];
  let settled = 0;
  await assert.rejects(
    mapLimit([0, 1, 2, 3, 4, 5], 2, async (x) => {
      started.push(x);
      await tick(x === 1 ? 1 : 10);
      settled++;
      if (x === 1) throw new Error('one failed');
      if (x === 2) throw new Error('two failed too');
      return x;
    }),
    /one failed/,
  );
  // 0 and 1 start; 1 fails first, so its worker does not take 2, and 0's worker stops too.
  assert.deepEqual(started, [0, 1]);
  assert.equal(settled, 2, 'the call still in flight was awaited before the error came back');
});

test('mapLimit refuses a limit that is not a positive integer', async () => {
  await assert.rejects(mapLimit([1], 0, async (x) => x), /limit must be a positive integer, got 0/);
  await assert.rejects(mapLimit([1], 1.5, async (x) => x), /limit must be a positive integer, got 1.5/);
});
