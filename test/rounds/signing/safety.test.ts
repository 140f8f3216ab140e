// Restart safety, cooldown and RBF replacement through whole rounds.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../../src/store/db.js';
import { roundLogMigrations, readTimeline } from '../../../src/rounds/roundlog.js';
import { transferMigrations, recordBroadcast, getCustodyTx, getTransfer, dueForBump, lockedOutpoints, excludedTransfers } from '../../../src/custody/transfers.js';
import { guardSignedSession, signedSessionMigrations, signedSessions } from '../../../src/rounds/signing/sessions.js';
import { isMetanodeError } from '../../../src/util/errors.js';
import { buildCandidate } from '../../../src/custody/candidate.js';
import { MSG } from '../../../src/rounds/signing/messages.js';
import { Harness, PARAMS, standardView, ROUND_ID } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'metanode-signing-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const MIGRATIONS = [...roundLogMigrations, ...transferMigrations, ...signedSessionMigrations];

test('signed sessions survive a restart; a different message for a signed round is refused', () => {
  const path = join(dir, 'node.sqlite');
  let db = openDb(path, MIGRATIONS);
  guardSignedSession(db, { roundId: 7, attempt: 0, digest: 'aa'.repeat(32), now: 1 });
  guardSignedSession(db, { roundId: 7, attempt: 0, digest: 'aa'.repeat(32), now: 2 }); // same message again: fine
  db.close();
  db = openDb(path, MIGRATIONS); // "restart"
  assert.throws(() => guardSignedSession(db, { roundId: 7, attempt: 0, digest: 'bb'.repeat(32), now: 3 }), (e) => isMetanodeError(e, 'DOUBLE_SIGN'));
  assert.throws(() => guardSignedSession(db, { roundId: 7, attempt: 1, digest: 'bb'.repeat(32), now: 3 }), (e) => isMetanodeError(e, 'DOUBLE_SIGN'));
  guardSignedSession(db, { roundId: 7, attempt: 1, digest: 'aa'.repeat(32), now: 4 }); // later attempt, same doc, fresh nonces
  guardSignedSession(db, { roundId: 8, attempt: 0, digest: 'bb'.repeat(32), now: 5 });
  assert.deepEqual(signedSessions(db, 7).map((s) => [s.attempt, s.digest]), [[0, 'aa'.repeat(32)], [1, 'aa'.repeat(32)]]);
  db.close();
});

test('a restarted node that signed another document in this round releases no share; the round completes without it', async () => {
  const path = join(dir, 'peerB.sqlite');
  const pre = openDb(path, MIGRATIONS);
  guardSignedSession(pre, { roundId: ROUND_ID, attempt: 0, digest: 'ee'.repeat(32), now: 1 });
  pre.close();
  const h = new Harness({ dbFor: (p) => openDb(p === 'peerB' ? path : ':memory:', MIGRATIONS) }).start().run();
  assert.ok(!h.wire.some((m) => m.from === 'peerB' && m.type === MSG.share), 'peerB released no share');
  const tl = readTimeline(h.dbs.get('peerB')!, ROUND_ID);
  assert.ok(tl.entries.some((e) => e.decision === 'refuse-sign' && /DOUBLE_SIGN/.test(e.reason ?? '')));
  assert.ok(tl.entries.some((e) => e.decision === 'abort' && /signing refused/.test(e.reason ?? '')));
  // it still learns the result from the others' final transaction
  assert.equal(h.state('peerB').result!.txid, h.state('peerA').result!.txid);
  for (const p of ['peerA', 'peerC', 'peerD', 'peerE']) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed', `${p}: ${s.endReason}`);
    assert.deepEqual(s.culprits.map((c) => [c.peer, c.code]), [['peerB', 'TIMEOUT']]);
  }
  await h.settled();
  for (const d of h.dbs.values()) d.close();
});

test('cooldown: a node that sees t+1 peers signing does not join', () => {
  const h = new Harness().start();
  // peerA hears from pings that everyone else is already signing before its ceremony starts
  h.drivers.get('peerA')!.peerStates(['peerB', 'peerC', 'peerD', 'peerE', 'peerX']);
  assert.equal(h.state('peerA').cooldown, true);
  h.run();
  assert.ok(!h.wire.some((m) => m.from === 'peerA' && (m.type === MSG.commit || m.type === MSG.share)));
  // the others name the silent peerA and sign without it
  assert.equal(h.state('peerB').outcome, 'completed');
  assert.deepEqual(h.state('peerB').attempt!.signers, ['peerB', 'peerC', 'peerD', 'peerE']);
  // and after signing every signer is in cooldown
  assert.equal(h.state('peerB').cooldown, true);
});

test('RBF: a later round replaces a stuck custody tx with the same inputs and a higher fee', () => {
  const base = new Harness();
  const first = buildCandidate(standardView(base.ks), PARAMS)!;
  const stuck = { txid: first.txid, roundId: ROUND_ID - 10, hex: first.unsignedTx, inputs: first.inputs.map((i) => ({ txid: i.txid, vout: i.vout })), transferIds: first.transferIds, feeRate: first.feeRate, height: 190, now: 1 };
  const h = new Harness({
    dbFor: () => {
      const db = openDb(':memory:', MIGRATIONS);
      recordBroadcast(db, stuck);
      return db;
    },
    viewFor: (_p, ks) => {
      const v = standardView(ks);
      // the bookkeeping decides: due for a bump at tip 200 after 6 blocks
      return { ...v, excludedTransfers: ['req-1', 'req-2'], lockedOutpoints: stuck.inputs, replace: { ...stuck, transferIds: stuck.transferIds } };
    },
  }).start().run();
  const s = h.state('peerA');
  assert.equal(s.outcome, 'completed', s.endReason ?? '');
  assert.equal(s.doc!.replaces, first.txid);
  assert.ok(s.doc!.feeRate > first.feeRate);
  assert.deepEqual(s.doc!.inputs.map((i) => `${i.txid}:${i.vout}`), first.inputs.map((i) => `${i.txid}:${i.vout}`));
  const db = h.dbs.get('peerA')!;
  assert.equal(getCustodyTx(db, first.txid)!.state, 'replaced');
  assert.equal(getTransfer(db, 'req-1')!.txid, s.result!.txid);
  assert.deepEqual(lockedOutpoints(db), stuck.inputs);
  assert.deepEqual(excludedTransfers(db), ['req-1', 'req-2']);
  assert.deepEqual(dueForBump(db, 200, 6), []);
});
