import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cronPeriodMs } from '../../src/rounds/round-clock.js';
import { cronMatches } from '../../src/rounds/scheduler.js';
import { isMetanodeError } from '../../src/util/errors.js';

test('the round period is the signing cron interval, for seconds, minutes and daily expressions', () => {
  assert.equal(cronPeriodMs('*/15 * * * * *'), 15_000);
  assert.equal(cronPeriodMs('*/10 * * * * *'), 10_000);
  assert.equal(cronPeriodMs('0 * * * * *'), 60_000);
  assert.equal(cronPeriodMs('*/5 * * * *'), 300_000);
  assert.equal(cronPeriodMs('0 0 * * *'), 86_400_000);
});

test('every firing of an accepted expression lies on a round boundary (floor(now / period) starts there)', () => {
  for (const expr of ['*/15 * * * * *', '*/6 * * * * *', '*/20 * * * *']) {
    const p = cronPeriodMs(expr);
    const base = Date.UTC(2026, 10, 21, 23, 0, 0);
    for (let s = 0; s < 7_200; s++) if (cronMatches(expr, base + s * 1000)) assert.equal((base + s * 1000) % p, 0, `${expr} at +${s} s`);
  }
});

test('uneven or off-boundary expressions are refused with INVALID_CONFIG naming the gap', () => {
  const cases: Array<[string, RegExp]> = [
    ['*/8 * * * * *', /fires at uneven intervals \(8 s, then 4 s after 00:00:56 UTC\)/],
    ['*/7 * * * *', /fires at uneven intervals \(420 s, then 240 s after 00:56:00 UTC\)/],
    ['5,15,25,35,45,55 * * * * *', /fires every 10 s but not on multiples of 10 s/],
    ['0 0 * * 1', /does not fire at a regular interval within a day/],
  ];
  for (const [expr, re] of cases) {
    assert.throws(() => cronPeriodMs(expr), (e: unknown) => isMetanodeError(e) && e.code === 'INVALID_CONFIG' && re.test(e.message), expr);
  }
});
