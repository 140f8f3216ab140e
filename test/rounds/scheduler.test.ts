import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { decideAction, cronMatches, EpochScheduler, validateSchedule, type ScheduleConfig, type EpochAction } from '../../src/rounds/scheduler.js';
import { isMetanodeError } from '../../src/util/errors.js';

const T0 = Date.UTC(2025, 0, 10, 12, 0, 0); // a 5-minute (and minute) boundary, not midnight
const cfg: ScheduleConfig = { signing: '0 * * * * *', keygen: '*/5 * * * *', regroup: '0 0 * * *', keygenUntil: T0 + 3600_000 };

test('cronMatches: 5- and 6-field expressions in UTC', () => {
  assert.equal(cronMatches('*/5 * * * *', T0), true);
  assert.equal(cronMatches('*/5 * * * *', T0 + 60_000), false);
  assert.equal(cronMatches('*/5 * * * *', T0 + 1000), false, '5-field means second 0');
  assert.equal(cronMatches('*/3 * * * * *', T0 + 3000), true);
  assert.equal(cronMatches('*/3 * * * * *', T0 + 4000), false);
  assert.equal(cronMatches('0 0 * * *', Date.UTC(2025, 0, 11, 0, 0, 0)), true);
  assert.equal(cronMatches('0 0 L * *', Date.UTC(2025, 1, 28)), true);
  assert.equal(cronMatches('0 0 L * *', Date.UTC(2025, 1, 27)), false);
});

test('keygen on 5-minute boundaries replaces signing while now < keygen_until', () => {
  const d = decideAction(T0, cfg, null);
  assert.equal(d.run, 'keygen');
  assert.deepEqual(d.skipped, [{ action: 'signing', reason: 'replaced by keygen' }]);
  assert.equal(decideAction(T0 + 60_000, cfg, null).run, 'signing');
  assert.equal(decideAction(T0 + 30_000, cfg, null).run, null);
});

test('after keygen_until no keygen runs; the key is locked in', () => {
  const at = cfg.keygenUntil! + 5 * 60_000;
  const d = decideAction(at, cfg, null);
  assert.equal(d.run, 'signing');
  assert.equal(d.lockedIn, true);
  assert.ok(d.skipped.some((s) => s.action === 'keygen' && /locked in/.test(s.reason)));
  // exactly at keygen_until counts as locked in
  assert.equal(decideAction(cfg.keygenUntil!, cfg, null).lockedIn, true);
});

test('regroup daily at 00:00 UTC only once locked in, before keygen and signing', () => {
  const midnight = Date.UTC(2025, 0, 11, 0, 0, 0);
  const locked = { ...cfg, keygenUntil: midnight - 1 };
  const d = decideAction(midnight, locked, null);
  assert.equal(d.run, 'regroup');
  assert.ok(d.skipped.some((s) => s.action === 'signing' && s.reason === 'replaced by regroup'));
  const unlocked = { ...cfg, keygenUntil: midnight + 1 };
  assert.equal(decideAction(midnight, unlocked, null).run, 'keygen');
  assert.equal(decideAction(midnight, { ...cfg, keygenUntil: null }, null).run, 'keygen', 'no keygen_until = keygen mode for good');
});

test('never overlap: anything due while an epoch action runs is skipped with the reason', () => {
  const d = decideAction(T0 + 60_000, cfg, 'keygen');
  assert.equal(d.run, null);
  assert.deepEqual(d.skipped, [{ action: 'signing', reason: 'keygen still running' }]);
});

test('a stale abort cannot end a later attempt: one keygen slot per signing round, the same slots on every node', () => {
  // Keygen every 6 s against 10-second rounds: slots :00 and :06 share round :00-:09 (one attempt
  // name), so :06 is skipped; :12 is the first slot of its round and runs.
  const fast: ScheduleConfig = { signing: '*/10 * * * * *', keygen: '*/6 * * * * *', regroup: '0 0 * * *', keygenUntil: null };
  const runs = (s: number) => decideAction(T0 + s * 1000, fast, null).run;
  assert.deepEqual([0, 6, 12, 18, 24, 30, 36, 42, 48, 54].map(runs), ['keygen', null, 'keygen', null, 'keygen', 'keygen', null, 'keygen', null, 'keygen']);
  const d = decideAction(T0 + 6000, fast, null);
  assert.deepEqual(d.skipped, [{ action: 'keygen', reason: 'one attempt per signing round: an earlier slot of this round had it' }]);
  // Mid-second firings (node-cron runs a few ms late) decide the same way.
  assert.equal(decideAction(T0 + 6_400, fast, null).run, null);
  assert.equal(decideAction(T0 + 12_700, fast, null).run, 'keygen');
  // A keygen that fires once per round (the production shape) is never affected.
  assert.equal(decideAction(T0, cfg, null).run, 'keygen');
});

test('bad cron expressions are refused with the field named', () => {
  assert.throws(() => validateSchedule({ ...cfg, keygen: 'every five minutes' }), (e) => isMetanodeError(e, 'INVALID_CONFIG') && /schedule\.keygen/.test(e.message));
});

test('EpochScheduler.tick: one action at a time, same-second firings are one tick', async () => {
  const runs: string[] = [];
  const skips: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const h = (a: EpochAction) => async () => {
    runs.push(a);
    if (a === 'keygen') await gate;
  };
  const s = new EpochScheduler(cfg, { signing: h('signing'), keygen: h('keygen'), regroup: h('regroup') }, { onSkip: (a, r) => skips.push(`${a}:${r}`) });
  assert.equal(s.tick(new Date(T0)).run, 'keygen');
  assert.equal(s.tick(new Date(T0 + 500)).run, null, 'same second');
  assert.equal(s.running, 'keygen');
  assert.equal(s.tick(new Date(T0 + 60_000)).run, null);
  assert.deepEqual(skips.slice(-1), ['signing:keygen still running']);
  release();
  await s.idle();
  assert.equal(s.tick(new Date(T0 + 120_000)).run, 'signing');
  await s.idle();
  assert.deepEqual(runs, ['keygen', 'signing']);
});

test('EpochScheduler with real node-cron fires a seconds-level expression', async () => {
  const fast: ScheduleConfig = { signing: '* * * * * *', keygen: '0 0 1 1 *', regroup: '0 0 1 1 *', keygenUntil: 0 };
  const fired: Date[] = [];
  let done!: () => void;
  const twice = new Promise<void>((r) => (done = r));
  const s = new EpochScheduler(fast, {
    signing: async (at) => {
      fired.push(at);
      if (fired.length === 2) done();
    },
    keygen: async () => assert.fail('keygen must not run'),
    regroup: async () => assert.fail('regroup must not run'),
  });
  after(() => s.stop());
  s.startCron();
  const timeout = new Promise<void>((_, rej) => setTimeout(() => rej(new Error('node-cron did not fire twice within 10 s')), 10_000).unref());
  await Promise.race([twice, timeout]);
  await s.stop();
  assert.equal(fired.length >= 2, true);
  assert.notEqual(Math.floor(fired[0].getTime() / 1000), Math.floor(fired[1].getTime() / 1000));
});

test('an epoch action due while a signing round is finishing waits for it and starts with its own instant', async () => {
  const d = decideAction(T0, cfg, 'signing');
  assert.equal(d.run, null);
  assert.equal(d.deferred, 'keygen');
  assert.ok(!d.skipped.some((x) => x.action === 'keygen'));
  assert.ok(d.skipped.some((x) => x.action === 'signing' && x.reason === 'replaced by keygen'));

  const runs: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const h = (a: EpochAction) => async (at: Date) => {
    runs.push(`${a}@${at.getTime()}`);
    if (a === 'signing') await gate;
  };
  const s = new EpochScheduler(cfg, { signing: h('signing'), keygen: h('keygen'), regroup: h('regroup') });
  assert.equal(s.tick(new Date(T0 - 60_000)).run, 'signing');
  assert.equal(s.tick(new Date(T0)).deferred, 'keygen');
  assert.equal(s.running, 'signing');
  release();
  await s.idle();
  assert.deepEqual(runs, [`signing@${T0 - 60_000}`, `keygen@${T0}`]);
  // Nothing waits behind a running epoch action: that is still a skip.
  assert.equal(decideAction(T0, cfg, 'regroup').deferred, undefined);
});

test('lock-in is applied on every tick past keygen_until (a key learned later gets locked too)', async () => {
  const calls: number[] = [];
  const s = new EpochScheduler({ ...cfg, keygenUntil: T0 - 1 }, { signing: async () => {}, keygen: async () => {}, regroup: async () => {} }, { onLockIn: (at) => void calls.push(at.getTime()) });
  s.tick(new Date(T0 + 30_000));
  await new Promise((r) => setImmediate(r));
  s.tick(new Date(T0 + 31_000));
  await new Promise((r) => setImmediate(r));
  await s.idle();
  assert.deepEqual(calls, [T0 + 30_000, T0 + 31_000]);
  // Before keygen_until nothing is locked.
  const early: number[] = [];
  const e = new EpochScheduler({ ...cfg, keygenUntil: T0 + 3_600_000 }, { signing: async () => {}, keygen: async () => {}, regroup: async () => {} }, { onLockIn: (at) => void early.push(at.getTime()) });
  e.tick(new Date(T0 + 30_000));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(early, []);
});
