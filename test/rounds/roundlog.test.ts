import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb } from '../../src/store/db.js';
import {
  roundLogMigrations, roundIdFor, roundStartMs, appendLog, appendLogs, startRound, finishRound, readTimeline, listRounds, getRound,
} from '../../src/rounds/roundlog.js';
import { isMetanodeError } from '../../src/util/errors.js';

test('roundIdFor aligns to the boundary', () => {
  assert.equal(roundIdFor(0, 60_000), 0);
  assert.equal(roundIdFor(59_999, 60_000), 0);
  assert.equal(roundIdFor(60_000, 60_000), 1);
  assert.equal(roundIdFor(1_700_000_012_345, 60_000), 28_333_333);
  assert.equal(roundStartMs(28_333_333, 60_000), 1_699_999_980_000);
  assert.throws(() => roundIdFor(1000, 0), (e) => isMetanodeError(e, 'INVALID_INPUT'));
  assert.throws(() => roundIdFor(-1, 1000), (e) => isMetanodeError(e, 'INVALID_INPUT'));
});

test('timeline keeps every step in order with culprits, and the summary', () => {
  const db = openDb(':memory:', roundLogMigrations);
  startRound(db, 7, 1000);
  startRound(db, 7, 2000); // restart keeps the first start time
  appendLog(db, { roundId: 7, phase: 'proposal', time: 1001, peer: 'A', digest: 'aa', decision: 'accept' });
  appendLogs(db, [
    { roundId: 7, phase: 'proposal', time: 1002, peer: 'B', decision: 'reject', reason: 'doc-mismatch' },
    { roundId: 8, phase: 'candidate', time: 1003, decision: 'skip', reason: 'no-transfer' },
    { roundId: 7, phase: 'checksum', time: 1004, decision: 'abort', reason: 'checksum-mismatch', culprits: ['C'] },
  ]);
  finishRound(db, 7, { status: 'aborted', endedAt: 1005, reason: 'checksum-mismatch', culprits: ['C'], thresholdSet: ['A', 'B', 'C'] });
  const tl = readTimeline(db, 7);
  assert.deepEqual(tl.entries.map((e) => [e.phase, e.peer, e.decision, e.reason, e.culprits]), [
    ['proposal', 'A', 'accept', undefined, []],
    ['proposal', 'B', 'reject', 'doc-mismatch', []],
    ['checksum', undefined, 'abort', 'checksum-mismatch', ['C']],
  ]);
  assert.equal(tl.entries[0]!.digest, 'aa');
  assert.deepEqual(tl.round, {
    roundId: 7, status: 'aborted', thresholdSet: ['A', 'B', 'C'], reason: 'checksum-mismatch', culprits: ['C'], startedAt: 1000, endedAt: 1005,
  });
  finishRound(db, 9, { status: 'completed', endedAt: 3000, txid: 'ff'.repeat(32) });
  assert.equal(getRound(db, 9)!.txid, 'ff'.repeat(32));
  assert.deepEqual(listRounds(db).map((r) => r.roundId), [9, 7]);
  assert.equal(readTimeline(db, 8).round, undefined);
  assert.equal(readTimeline(db, 8).entries.length, 1);
});
