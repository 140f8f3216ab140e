// Own nonce commitments are recorded with the signed session, and a commitment already signed
// with in another session is refused (NONCE_REUSE): what the chaos harness's uniqueness check reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDb } from '../../../src/store/db.js';
import { roundLogMigrations } from '../../../src/rounds/roundlog.js';
import { transferMigrations } from '../../../src/custody/transfers.js';
import { commitmentDigest, guardSignedSession, signedCommitments, signedSessionMigrations } from '../../../src/rounds/signing/sessions.js';
import { isMetanodeError } from '../../../src/util/errors.js';
import { MSG, type CommitPayload } from '../../../src/rounds/signing/messages.js';
import { Harness } from './harness.js';

const MIGRATIONS = [...roundLogMigrations, ...transferMigrations, ...signedSessionMigrations];
const P1 = { hiding: '02' + '11'.repeat(32), binding: '03' + '22'.repeat(32) };
const P2 = { hiding: '02' + '33'.repeat(32), binding: '03' + '44'.repeat(32) };

test('commitmentDigest is sha256(hiding || binding) and tells pairs apart', () => {
  assert.match(commitmentDigest(P1), /^[0-9a-f]{64}$/);
  assert.notEqual(commitmentDigest(P1), commitmentDigest(P2));
  assert.notEqual(commitmentDigest(P1), commitmentDigest({ hiding: P1.binding, binding: P1.hiding }));
});

test('a commitment signed with in one session is refused in another (NONCE_REUSE); the same session may repeat', () => {
  const db = openDb(':memory:', MIGRATIONS);
  const c1 = commitmentDigest(P1);
  guardSignedSession(db, { roundId: 5, attempt: 0, digest: 'aa'.repeat(32), now: 1, commitments: [c1] });
  guardSignedSession(db, { roundId: 5, attempt: 0, digest: 'aa'.repeat(32), now: 2, commitments: [c1] });
  assert.throws(() => guardSignedSession(db, { roundId: 5, attempt: 1, digest: 'aa'.repeat(32), now: 3, commitments: [c1] }), (e) => isMetanodeError(e, 'NONCE_REUSE'));
  assert.throws(() => guardSignedSession(db, { roundId: 6, attempt: 0, digest: 'bb'.repeat(32), now: 3, commitments: [commitmentDigest(P2), c1] }), (e) => isMetanodeError(e, 'NONCE_REUSE'));
  // The refused guard wrote nothing (one transaction): round 6 has no session and P2 is free.
  guardSignedSession(db, { roundId: 6, attempt: 0, digest: 'bb'.repeat(32), now: 4, commitments: [commitmentDigest(P2)] });
  assert.deepEqual(signedCommitments(db).map((r) => [r.commitment, r.roundId, r.attempt]), [[c1, 5, 0], [commitmentDigest(P2), 6, 0]]);
  db.close();
});

test('every signer of a completed round records exactly the commitments it published', () => {
  const h = new Harness({ dbFor: () => openDb(':memory:', MIGRATIONS) }).start().run();
  const published = new Map<string, string[]>();
  for (const m of h.wire) if (m.type === MSG.commit) published.set(m.from, (m.payload as CommitPayload).commitments.map(commitmentDigest));
  assert.ok(published.size >= h.threshold);
  for (const [peer, db] of h.dbs) {
    const rows = signedCommitments(db);
    assert.deepEqual(rows.map((r) => r.commitment).sort(), [...(published.get(peer) ?? [])].sort(), `${peer} recorded its own commitments`);
  }
  const all = [...h.dbs.values()].flatMap((db) => signedCommitments(db).map((r) => r.commitment));
  assert.equal(new Set(all).size, all.length, 'no commitment in two sessions across nodes');
  assert.ok(all.length > 0);
});
