// Silence shapes the next rounds only as a preference: a silent member is left out while t others
// are online, taken back when it is needed to reach t, and never blocked (signing-runner.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SilenceMemory, preferResponsive } from '../../../src/rounds/signing/silence.js';
import type { Participant } from '../../../src/rounds/signing/types.js';

const parts = (...ids: string[]): Participant[] => ids.map((peerId, i) => ({ peerId, identifier: String(i + 1).padStart(64, '0'), verifyingShare: '02'.padEnd(66, '0') }));

test('SilenceMemory: a silence is remembered until its time, a later one extends it, expired ones are forgotten', () => {
  const m = new SilenceMemory();
  m.note('B', 1_000);
  m.note('C', 500);
  m.note('B', 800); // an earlier end never shortens a longer one
  assert.deepEqual([...m.active(0)].sort(), ['B', 'C']);
  assert.deepEqual([...m.active(500)], ['B']);
  assert.deepEqual([...m.active(999)], ['B']);
  assert.deepEqual([...m.active(1_000)], []);
  m.note('B', 2_000);
  assert.deepEqual([...m.active(1_500)], ['B']);
});

test('preferResponsive: recently silent members are left out while at least t others (self counted) remain', () => {
  const p = parts('A', 'B', 'C', 'D', 'E', 'F');
  const r = preferResponsive(p, new Set(['B', 'E']), 4, 'A');
  assert.deepEqual(r.participants.map((x) => x.peerId), ['A', 'C', 'D', 'F']);
  assert.deepEqual(r.left, ['B', 'E']);
});

test('silence below t refused: when leaving the silent members out would leave fewer than t, every online member stays in', () => {
  // Exactly t = 4 honest members online, one of them slow in the last round: leaving it out would
  // stop every round (this is what a silence block did, for blocklist.silentMinutes).
  const p = parts('A', 'B', 'C', 'D');
  const r = preferResponsive(p, new Set(['C']), 4, 'A');
  assert.deepEqual(r.participants.map((x) => x.peerId), ['A', 'B', 'C', 'D']);
  assert.deepEqual(r.left, []);
});

test('preferResponsive: self is never left out, and an offline silent member changes nothing', () => {
  const p = parts('A', 'B', 'C', 'D', 'E');
  assert.deepEqual(preferResponsive(p, new Set(['A']), 3, 'A').participants.map((x) => x.peerId), ['A', 'B', 'C', 'D', 'E']);
  assert.deepEqual(preferResponsive(p, new Set(['Z']), 3, 'A'), { participants: p, left: [] });
});
