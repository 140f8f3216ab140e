// Equivocation attacks on the custody round: a member signs two different messages for one slot
// and shows one to some peers, the other to the rest. Every honest node must end up holding both
// signed messages, name the equivocator (EQUIVOCATION) and nobody else, block nobody honest, and
// complete the round with the t honest members (n = 5, t = 4, f = 1: peerB is the attacker and a
// member of the first threshold set A,B,C,D).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, ROUND_ID, type HarnessOptions, type Sent } from './harness.js';
import { MSG, type CommitPayload } from '../../../src/rounds/signing/messages.js';
import { signingCommit } from '../../../src/crypto/signing.js';
import { readEvidence, readTimeline } from '../../../src/rounds/roundlog.js';
import { verifyPayload } from '../../../src/rounds/signing/signed.js';
import { thresholdSetChecksum } from '../../../src/rounds/signing/checksum.js';

const BAD = 'peerB';
const HONEST = ['peerA', 'peerC', 'peerD', 'peerE'];
const FIRST = ['peerA', 'peerC'];
const SECOND = ['peerD', 'peerE'];

/** Runs a round in which BAD sends `type` as-is to FIRST and as `other(payload)` to SECOND. */
function equivocating(type: string, other: (payload: unknown, h: Harness) => unknown, opts: HarnessOptions = {}): Harness {
  let done = false;
  const h: Harness = new Harness({
    ...opts,
    split: (m: Sent) => {
      if (m.from !== BAD || m.type !== type || done) return undefined;
      done = true;
      return [{ to: FIRST, payload: m.payload }, { to: SECOND, payload: other(m.payload, h) }];
    },
  });
  return h.start().run();
}

function assertOnlyEquivocatorNamed(h: Harness, type: string): void {
  for (const p of HONEST) {
    const s = h.state(p);
    assert.deepEqual(s.culprits.map((c) => [c.peer, c.code]), [[BAD, 'EQUIVOCATION']], `${p} names ${BAD} and nobody else`);
    assert.deepEqual(h.blocked.get(p)!.map((b) => [b.peer, b.code]), [[BAD, 'EQUIVOCATION']], `${p} blocks only ${BAD}`);
    assert.deepEqual(s.setAside, [], `${p} set nobody aside`);
    const ev = readEvidence(h.dbs.get(p)!, ROUND_ID);
    assert.equal(ev.length, 1, `${p} keeps the evidence`);
    assert.equal(ev[0]!.peer, BAD);
    assert.equal(ev[0]!.type, type);
    // Both are BAD's own signatures, checkable by anyone from BAD's public verifying share.
    const vs = h.participants().find((x) => x.peerId === BAD)!.verifyingShare;
    const ctx = { network: 'regtest' as const, epoch: h.ks.key.epoch, peerId: BAD, round: ROUND_ID };
    assert.ok(verifyPayload(vs, ctx, type, ev[0]!.first) && verifyPayload(vs, ctx, type, ev[0]!.second));
    assert.notDeepEqual(ev[0]!.first, ev[0]!.second);
    const tl = readTimeline(h.dbs.get(p)!, ROUND_ID);
    assert.ok(tl.entries.some((e) => e.decision === 'equivocation' && e.peer === BAD), `${p} logged the equivocation`);
  }
}

function assertCompletedByHonest(h: Harness): void {
  const txids = new Set<string>();
  for (const p of HONEST) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed', `${p}: ${s.endReason}`);
    txids.add(s.result!.txid);
  }
  assert.equal(txids.size, 1, 'one transaction');
  const signers = h.state('peerA').attempt!.signers;
  assert.deepEqual(signers, HONEST, 'the t honest members signed');
}

/** A second valid commitment list from BAD's own share (fresh nonces): as valid as the first. */
function otherCommitments(payload: unknown, h: Harness): unknown {
  const m = payload as CommitPayload;
  const { commitments } = signingCommit(h.ks.shares[BAD]!, h.ks.key, m.commitments.length);
  return { ...m, commitments };
}

test('commitment-list equivocation (the review\'s scenario): two valid lists to different peers name only the equivocator; the honest t sign', () => {
  // No gossip forwarding: only the acks and the relays they trigger expose the split.
  const h = equivocating(MSG.commit, otherCommitments);
  assertOnlyEquivocatorNamed(h, MSG.commit);
  assertCompletedByHonest(h);
  // Nobody released a share for the split attempt 0: shares only follow an agreed list.
  assert.ok(!h.wire.some((m) => m.type === MSG.share && (m.payload as { attempt: number }).attempt === 0));
  // No honest node ever called a share invalid.
  for (const p of HONEST) assert.ok(!readTimeline(h.dbs.get(p)!, ROUND_ID).entries.some((e) => /INVALID_SIGNATURE_SHARE/.test(e.reason ?? '')));
});

test('commitment-list equivocation with gossip forwarding: same verdict on every honest node', () => {
  const h = equivocating(MSG.commit, otherCommitments, { forward: true });
  assertOnlyEquivocatorNamed(h, MSG.commit);
  assertCompletedByHonest(h);
});

test('candidate equivocation: two different signed candidates name only the equivocator; the round completes', () => {
  const h = equivocating(MSG.candidate, (p) => ({ ...(p as object), transferIds: ['req-1'], docHash: 'ee'.repeat(32) }), { forward: true });
  assertOnlyEquivocatorNamed(h, MSG.candidate);
  assertCompletedByHonest(h);
});

test('signing-set equivocation: two different signed signing sets name only the equivocator; the threshold set is chosen again without it', () => {
  // peerD and peerE are shown a set without peerA: their threshold set would differ from A's and C's.
  const h = equivocating(MSG.signingSet, (p) => ({ ...(p as object), members: ['peerB', 'peerC', 'peerD', 'peerE'] }));
  assertOnlyEquivocatorNamed(h, MSG.signingSet);
  assertCompletedByHonest(h);
});

test('checksum equivocation: two different signed checksums name only the equivocator (no honest minority blamed)', () => {
  const h = equivocating(MSG.checksum, (p, hh) => ({ ...(p as object), checksum: thresholdSetChecksum(ROUND_ID, hh.state('peerA').doc!.docHash, ['peerA', 'peerB', 'peerC', 'peerE']) }));
  assertOnlyEquivocatorNamed(h, MSG.checksum);
  assertCompletedByHonest(h);
});

test('ack equivocation: two different signed acks name only the equivocator', () => {
  const h = equivocating(MSG.ack, (p) => ({ ...(p as object), digests: (p as { digests: string[] }).digests.map((d, i) => (i === 0 ? 'ff'.repeat(32) : d)) }));
  assertOnlyEquivocatorNamed(h, MSG.ack);
  assertCompletedByHonest(h);
});

test('a forged relay (a message its named author never signed) is ignored and names nobody', () => {
  const h = new Harness().start();
  const forged = { attempt: 0, signers: ['peerA', 'peerB', 'peerC', 'peerD'], digests: ['aa'.repeat(32)], sig: 'ab'.repeat(65) };
  h.inject({ from: 'peerC', type: MSG.relay, payload: h.signAs('peerC', MSG.relay, { peer: 'peerB', type: MSG.ack, payload: forged }) });
  h.run();
  for (const p of HONEST) {
    assert.equal(h.state(p).outcome, 'completed');
    assert.deepEqual(h.state(p).culprits, []);
    assert.deepEqual(h.blocked.get(p), []);
  }
  assert.ok(readTimeline(h.dbs.get('peerA')!, ROUND_ID).entries.some((e) => e.phase === 'ceremony' && e.decision === 'ignore' && /not a valid signed message/.test(e.reason ?? '')));
});

test('a round-message signature binds the sender, round, type and body (key order does not matter); a forged or replayed one fails', () => {
  const h = new Harness();
  const vs = h.participants().find((x) => x.peerId === BAD)!.verifyingShare;
  const ctx = { network: 'regtest' as const, epoch: h.ks.key.epoch, peerId: BAD, round: ROUND_ID };
  const signed = h.signAs(BAD, MSG.checksum, { checksum: 'aa'.repeat(32), excluded: [] }) as Record<string, unknown>;
  assert.ok(verifyPayload(vs, ctx, MSG.checksum, signed));
  assert.ok(verifyPayload(vs, ctx, MSG.checksum, { excluded: [], sig: signed.sig, checksum: 'aa'.repeat(32) }), 'canonical body');
  assert.ok(!verifyPayload(vs, ctx, MSG.checksum, { ...signed, checksum: 'bb'.repeat(32) }), 'other body');
  assert.ok(!verifyPayload(vs, { ...ctx, round: ROUND_ID + 1 }, MSG.checksum, signed), 'replayed into another round');
  assert.ok(!verifyPayload(vs, { ...ctx, peerId: 'peerC' }, MSG.checksum, signed), 'claimed by another peer');
  assert.ok(!verifyPayload(vs, ctx, MSG.ack, signed), 'other type');
  const other = h.participants().find((x) => x.peerId === 'peerC')!.verifyingShare;
  assert.ok(!verifyPayload(other, ctx, MSG.checksum, signed), 'another key');
  assert.ok(!verifyPayload(vs, ctx, MSG.checksum, { ...signed, sig: undefined }), 'unsigned');
});
