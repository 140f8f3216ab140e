import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schnorr } from '@noble/curves/secp256k1.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { Transaction } from '@scure/btc-signer';
import { Harness, standardView } from './harness.js';
import { readEvidence, readTimeline } from '../../../src/rounds/roundlog.js';
import { getTransfer } from '../../../src/custody/transfers.js';
import { MSG } from '../../../src/rounds/signing/messages.js';
import { DEFAULT_TIMEOUTS, type Participant } from '../../../src/rounds/signing/types.js';
import { roundTimeouts } from '../../../src/node/signing-runner.js';

const ROUND = 1000;

/** Independent check of a signed tx: recompute every BIP341 sighash and BIP340-verify the witness. */
function verifySignedTx(hex: string, prevouts: Array<{ script: string; amount: bigint }>): void {
  const tx = Transaction.fromRaw(hexToBytes(hex), { allowUnknownOutputs: true, allowUnknownInputs: true });
  assert.equal(tx.inputsLength, prevouts.length);
  const scripts = prevouts.map((p) => hexToBytes(p.script));
  const amounts = prevouts.map((p) => p.amount);
  for (let i = 0; i < tx.inputsLength; i++) {
    const sighash = tx.preimageWitnessV1(i, scripts, 0x00, amounts);
    const w = tx.getInput(i).finalScriptWitness!;
    assert.equal(w.length, 1);
    assert.equal(w[0]!.length, 64);
    const outputKey = scripts[i]!.subarray(2);
    assert.ok(schnorr.verify(w[0]!, sighash, outputKey), `input ${i} signature`);
  }
}

test('a full round among 5 nodes produces one valid signed transaction', () => {
  const h = new Harness().start().run();
  const txids = new Set<string>();
  for (const p of h.ks.peers) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed', `${p}: ${s.endReason}`);
    txids.add(s.result!.txid);
  }
  assert.equal(txids.size, 1);
  const s = h.state('peerA');
  assert.deepEqual(s.thresholdSet, ['peerA', 'peerB', 'peerC', 'peerD']);
  assert.equal(s.doc!.inputs.filter((i) => i.kind === 'deposit').length, 2);
  verifySignedTx(s.result!.hex, s.doc!.inputs.map((i) => ({ script: i.scriptPubKey, amount: i.value })));
  // the signers broadcast; the standby (peerE) records the tx from the final message
  assert.ok(h.broadcasts.get('peerA')!.length >= 1);
  for (const p of h.ks.peers) {
    assert.equal(getTransfer(h.dbs.get(p)!, 'req-1')!.state, 'in-flight');
    assert.equal(getTransfer(h.dbs.get(p)!, 'req-1')!.txid, s.result!.txid);
  }
  const tl = readTimeline(h.dbs.get('peerA')!, ROUND);
  assert.equal(tl.round!.status, 'completed');
  assert.equal(tl.round!.txid, s.result!.txid);
  assert.deepEqual(tl.round!.thresholdSet, ['peerA', 'peerB', 'peerC', 'peerD']);
  const phases = new Set(tl.entries.map((e) => e.phase));
  for (const ph of ['candidate', 'proposal', 'signing-set', 'checksum', 'ceremony']) assert.ok(phases.has(ph), ph);
  assert.deepEqual([...h.blocked.values()].flat(), []);
});

test('a peer proposing a different document is left out of the signing sets', () => {
  // peerE sees the vault UTXO with another value (a faulty chain source): it adopts the majority's
  // content, but the document it rebuilds from its own view still differs.
  const h = new Harness({
    viewFor: (peer, ks) => {
      const v = standardView(ks);
      if (peer === 'peerE') v.vaultUtxos[0] = { ...v.vaultUtxos[0]!, value: 400_000n };
      return v;
    },
  }).start().run();
  for (const p of ['peerA', 'peerB', 'peerC', 'peerD']) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed', p);
    assert.ok(!s.signingSets[p]!.members.includes('peerE'), `${p} left E out`);
    assert.deepEqual(s.culprits, []);
  }
  const e = h.state('peerE');
  assert.deepEqual(e.accepted, ['peerE']);
  assert.notEqual(e.outcome, 'completed');
  const tl = readTimeline(h.dbs.get('peerA')!, ROUND);
  assert.ok(tl.entries.some((x) => x.phase === 'proposal' && x.peer === 'peerE' && x.decision === 'ignore' && x.reason === 'different-document'));
});

test('a peer copying another peer\'s tss_proof is rejected and named', () => {
  const h = new Harness({ proofFor: (peer, proofs) => (peer === 'peerE' ? proofs.peerA! : proofs[peer]!) }).start().run();
  for (const p of ['peerA', 'peerB', 'peerC', 'peerD']) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed');
    assert.deepEqual(s.culprits.map((c) => [c.peer, c.code]), [['peerE', 'INVALID_TSS_PROOF']]);
    assert.ok(h.blocked.get(p)!.some((b) => b.peer === 'peerE'));
  }
});

/**
 * A round in which peerE's proposal is held back (optionally built around a copy of peerA's
 * proof) until the honest nodes have left the proposal phase; returns the held body.
 */
function withLateProposal(copier: boolean): { h: Harness; held: unknown; honest: string[] } {
  let held: unknown = null;
  const h = new Harness({
    ...(copier ? { proofFor: (peer: string, proofs: Record<string, string>) => (peer === 'peerE' ? proofs.peerA! : proofs[peer]!) } : {}),
    outFilter: (m) => (m.from === 'peerE' && m.type === MSG.proposal ? ((held = m.payload), null) : m.payload),
  }).start();
  const honest = ['peerA', 'peerB', 'peerC', 'peerD'];
  while (honest.some((p) => ['candidate', 'proposal'].includes(h.state(p).phase))) h.run(1);
  assert.ok(held, 'peerE built its proposal');
  return { h, held, honest };
}

test('a copied tss_proof that arrives after the proposal deadline is still named INVALID_TSS_PROOF (late copier attack)', () => {
  // peerE copies peerA's proof and holds its proposal back until the others have sent their
  // signing sets: it cannot join the round any more, but the copy is evidence and is named.
  const { h, held, honest } = withLateProposal(true);
  for (const p of honest) assert.ok(!h.state(p).signingSets[p]!.members.includes('peerE'), `${p}'s signing set went out without E`);
  // outFilter sees bodies before they are signed: sign the held one with E's own share, as the
  // copier's node would (an unsigned or wrongly signed proposal proves nothing).
  h.inject({ from: 'peerE', type: MSG.proposal, payload: h.signAs('peerE', MSG.proposal, held) });
  h.run();
  for (const p of honest) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed', `${p}: ${s.endReason}`);
    assert.deepEqual(s.culprits.map((c) => [c.peer, c.code]), [['peerE', 'INVALID_TSS_PROOF']], p);
    assert.ok(h.blocked.get(p)!.some((b) => b.peer === 'peerE' && b.code === 'INVALID_TSS_PROOF'), `${p} blocked E`);
    assert.ok(!s.thresholdSet.includes('peerE'));
  }
});

test('an honest proposal that arrives late is logged, not accepted and not blamed', () => {
  const { h, held } = withLateProposal(false);
  h.inject({ from: 'peerE', type: MSG.proposal, payload: h.signAs('peerE', MSG.proposal, held) });
  h.run();
  const s = h.state('peerA');
  assert.equal(s.outcome, 'completed');
  assert.deepEqual(s.culprits, []);
  assert.ok(!s.accepted.includes('peerE'));
  assert.deepEqual(h.blocked.get('peerA'), []);
  const tl = readTimeline(h.dbs.get('peerA')!, ROUND);
  assert.ok(tl.entries.some((x) => x.phase === 'proposal' && x.peer === 'peerE' && x.decision === 'ignore' && x.reason === 'late'));
});

test('a late copied tss_proof signed with another peer\'s share proves nothing: ignored as bad-signature, nobody named', () => {
  // The copy would be evidence only if E signed it; a body signed by A's share but sent as E's
  // must not get E (or A) named.
  const { h, held, honest } = withLateProposal(true);
  h.inject({ from: 'peerE', type: MSG.proposal, payload: h.signAs('peerA', MSG.proposal, held) });
  h.run();
  for (const p of honest) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed', `${p}: ${s.endReason}`);
    assert.ok(!s.culprits.some((c) => c.code === 'INVALID_TSS_PROOF'), p);
    assert.ok(!h.blocked.get(p)!.some((b) => b.code === 'INVALID_TSS_PROOF'), p);
    assert.equal(s.proposals.peerE, undefined, `${p} kept no proposal of E`);
    const tl = readTimeline(h.dbs.get(p)!, ROUND);
    assert.ok(tl.entries.some((x) => x.phase === 'proposal' && x.peer === 'peerE' && x.decision === 'ignore' && x.reason === 'bad-signature'), p);
  }
});

test('with a verifier that lets a copied proof through, the copier is pruned from the threshold set', () => {
  // peerB copies peerA's proof; the (deliberately weak) verifier accepts it. Bottom-up pruning
  // removes the junior holder of the duplicate, so B never signs.
  const h = new Harness({
    proofFor: (peer, proofs) => (peer === 'peerB' ? proofs.peerA! : proofs[peer]!),
    verifierFor: () => () => true,
  }).start().run();
  const s = h.state('peerA');
  assert.equal(s.outcome, 'completed');
  assert.deepEqual(s.pool, ['peerA', 'peerC', 'peerD', 'peerE']);
  assert.deepEqual(s.thresholdSet, ['peerA', 'peerC', 'peerD', 'peerE']);
  const tl = readTimeline(h.dbs.get('peerA')!, ROUND);
  assert.ok(tl.entries.some((x) => x.decision === 'prune' && x.peer === 'peerB'));
  assert.equal(h.state('peerB').outcome, 'completed'); // observes the final tx
});

test('checksum minority without evidence: the differing member is set aside, never named or blocked; the round completes', () => {
  // peerC sends one (validly signed) checksum that differs from everyone's. That may be its own
  // fault or the work of someone who showed it other signing sets: without two messages signed by
  // one peer there is no proof, so nobody is blocked; the other four sign without it.
  const h = new Harness({
    outFilter: (m) => (m.from === 'peerC' && m.type === MSG.checksum ? { ...(m.payload as object), checksum: 'ab'.repeat(32) } : m.payload),
  }).start().run();
  for (const p of ['peerA', 'peerB', 'peerD', 'peerE']) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed', `${p}: ${s.endReason}`);
    assert.deepEqual(s.culprits, []);
    assert.deepEqual(s.setAside.map((x) => [x.peer, x.code]), [['peerC', 'CHECKSUM_MISMATCH']]);
    assert.deepEqual(h.blocked.get(p), []);
    const tl = readTimeline(h.dbs.get(p)!, ROUND);
    assert.deepEqual(tl.round!.culprits, []);
    assert.ok(!s.attempt!.signers.includes('peerC'));
  }
  assert.ok(!h.wire.some((m) => m.type === MSG.share && m.from === 'peerC'));
  assert.deepEqual(h.blocked.get('peerC'), []);
});

test('a member sending an invalid share is named and the round still completes via retry', () => {
  const h = new Harness({
    outFilter: (m) => {
      if (m.from === 'peerC' && m.type === MSG.share) {
        const p = m.payload as { attempt: number; shares: string[] };
        return { ...p, shares: p.shares.map((x) => (x.startsWith('00') ? '01' : '00') + x.slice(2)) };
      }
      return m.payload;
    },
  }).start().run();
  for (const p of ['peerA', 'peerB', 'peerD', 'peerE']) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed', `${p}: ${s.endReason}`);
    assert.deepEqual(s.culprits.map((c) => [c.peer, c.code]), [['peerC', 'INVALID_SIGNATURE_SHARE']]);
    assert.equal(s.attempt!.attempt, 1);
    assert.deepEqual(s.attempt!.signers, ['peerA', 'peerB', 'peerD', 'peerE']);
  }
  const s = h.state('peerA');
  verifySignedTx(s.result!.hex, s.doc!.inputs.map((i) => ({ script: i.scriptPubKey, amount: i.value })));
  const tl = readTimeline(h.dbs.get('peerA')!, ROUND);
  assert.ok(tl.entries.some((x) => x.decision === 'culprit' && x.peer === 'peerC' && x.reason!.startsWith('INVALID_SIGNATURE_SHARE')));
  // fresh nonces per attempt: peerA's two commitment messages differ
  const commits = h.wire.filter((m) => m.from === 'peerA' && m.type === MSG.commit).map((m) => JSON.stringify((m.payload as { commitments: unknown }).commitments));
  assert.equal(commits.length, 2);
  assert.notEqual(commits[0], commits[1]);
});

test('framing by a divergent online view refused: a signing set naming a member this node counts offline gets nobody named or blocked', () => {
  // peerE does not count peerA as online (its pings came late there, or peerE set it aside for a
  // recent silence); everyone else does, so their signing sets name peerA. That is no fault of
  // theirs: a set is malformed only if it names a peer outside the epoch's committee. Before,
  // peerE named peerB..peerD INVALID_MESSAGE and blocked them for 72 h, so one member with a
  // patchy link could make honest nodes block each other.
  const h: Harness = new Harness({ cfgFor: (peer) => (peer === 'peerE' ? { participants: h.participants().filter((p: Participant) => p.peerId !== 'peerA') } : {}) });
  h.start().run();
  for (const p of h.ks.peers) {
    assert.deepEqual(h.blocked.get(p), [], `${p} blocked nobody`);
    assert.deepEqual(h.state(p).culprits, [], `${p} named nobody`);
  }
  for (const p of ['peerA', 'peerB', 'peerC', 'peerD']) assert.equal(h.state(p).outcome, 'completed', `${p}: ${h.state(p).endReason}`);
});

test('a signing set naming a peer outside the epoch committee is malformed: its sender is named INVALID_MESSAGE', () => {
  const h = new Harness({
    outFilter: (m) => (m.from === 'peerB' && m.type === MSG.signingSet ? { ...(m.payload as object), members: [...(m.payload as { members: string[] }).members, 'peerZ'] } : m.payload),
  }).start().run();
  for (const p of ['peerA', 'peerC', 'peerD', 'peerE']) {
    assert.deepEqual(h.state(p).culprits.map((c) => [c.peer, c.code]), [['peerB', 'INVALID_MESSAGE']], p);
    assert.equal(h.state(p).outcome, 'completed', `${p}: ${h.state(p).endReason}`);
  }
});

test('a silent member (timeout) is named and the round completes', () => {
  // peerB goes silent once the ceremony starts (crash after the checksum).
  const h = new Harness({ outFilter: (m) => (m.from === 'peerB' && (m.type === MSG.commit || m.type === MSG.share) ? null : m.payload) }).start().run();
  for (const p of ['peerA', 'peerC', 'peerD', 'peerE']) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed', `${p}: ${s.endReason}`);
    assert.deepEqual(s.culprits.map((c) => [c.peer, c.code]), [['peerB', 'TIMEOUT']]);
  }
});

test('ceremony stages grow with the input count: a silent signer is named only after base + inputs x perInputMs', () => {
  // 12 deposits and the vault UTXO: a document of many inputs; peerB withholds its shares (and
  // the signed tx it could assemble from the others').
  const transfers = Array.from({ length: 12 }, (_, i) => ({ id: `req-${i}`, amount: 30_000n + BigInt(i) * 1_000n }));
  const h = new Harness({
    viewFor: (_p, ks) => standardView(ks, transfers),
    outFilter: (m) => (m.from === 'peerB' && (m.type === MSG.share || m.type === MSG.final) ? null : m.payload),
  }).start().run();
  const s = h.state('peerA');
  assert.equal(s.outcome, 'completed', s.endReason ?? undefined);
  const inputs = s.doc!.inputs.length;
  assert.ok(inputs >= 12, `document has ${inputs} inputs`);
  const tl = readTimeline(h.dbs.get('peerA')!, ROUND);
  const ceremony = tl.entries.filter((e) => e.phase === 'ceremony');
  const sharesSent = ceremony.find((e) => e.decision === 'sent' && e.peer === 'peerA' && e.reason === 'signature-shares')!;
  const named = ceremony.find((e) => e.decision === 'culprit' && e.peer === 'peerB')!;
  assert.match(named.reason ?? '', /^TIMEOUT: silent in the share stage/);
  assert.equal(named.time - sharesSent.time, DEFAULT_TIMEOUTS.shareMs + inputs * DEFAULT_TIMEOUTS.perInputMs);
});

test('roundTimeouts: the per-input allowance shrinks with short rounds and never exceeds the default', () => {
  assert.deepEqual(roundTimeouts(60_000), { ...DEFAULT_TIMEOUTS });
  const short = roundTimeouts(12_000);
  assert.equal(short.commitMs, 2_000);
  assert.equal(short.perInputMs, 20);
  assert.equal(roundTimeouts(3_000).perInputMs, 5);
});

test('an offline peer never proposes; the others complete without it', () => {
  const h = new Harness({ offline: ['peerA'] }).start().run();
  const s = h.state('peerB');
  assert.equal(s.outcome, 'completed');
  assert.deepEqual(s.thresholdSet, ['peerB', 'peerC', 'peerD', 'peerE']);
});

test('no transfer, no round', () => {
  const h = new Harness({ viewFor: (_p, ks) => standardView(ks, []) }).start().run();
  for (const p of h.ks.peers) {
    assert.equal(h.state(p).outcome, 'skipped');
    assert.equal(readTimeline(h.dbs.get(p)!, ROUND).round!.status, 'skipped');
  }
  assert.ok(!h.wire.some((m) => m.type === MSG.proposal));
});

test('equivocating proposal: two different signed proposals name the sender EQUIVOCATION with both kept as evidence', () => {
  let sentTwice = false;
  const h: Harness = new Harness({
    outFilter: (m) => {
      if (m.from === 'peerE' && m.type === MSG.proposal && !sentTwice) {
        sentTwice = true;
        const p = m.payload as { h0: string; h1: string; tssProof: string };
        h.inject({ from: 'peerE', type: MSG.proposal, payload: h.signAs('peerE', MSG.proposal, { ...p, h0: 'cd'.repeat(32) }) });
      }
      return m.payload;
    },
  });
  h.start().run();
  for (const p of ['peerA', 'peerB', 'peerC', 'peerD']) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed');
    assert.deepEqual(s.culprits.map((c) => [c.peer, c.code]), [['peerE', 'EQUIVOCATION']]);
    assert.deepEqual(h.blocked.get(p)!.map((b) => [b.peer, b.code]), [['peerE', 'EQUIVOCATION']]);
    const ev = readEvidence(h.dbs.get(p)!, ROUND);
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.peer, 'peerE');
    assert.notEqual(ev[0]!.first.h0, ev[0]!.second.h0);
  }
  // an unsigned second proposal proves nothing: it is ignored, not blamed
  const bare = new Harness({ outFilter: (m) => m.payload });
  bare.start();
  bare.inject({ from: 'peerE', type: MSG.proposal, payload: { h0: 'cd'.repeat(32), h1: 'cd'.repeat(32), tssProof: 'ab'.repeat(65), sig: 'ab'.repeat(65) } });
  bare.run();
  assert.ok(!bare.state('peerA').culprits.some((c) => c.peer === 'peerE'));
});

// Ping views a block apart at the round's start: peers announce candidates at different anchors.
const atAnchor = (anchorHeight: number, maxAnchorHeight: number) => (p: string, ks: Parameters<typeof standardView>[0]) =>
  p === 'peerE' ? { ...standardView(ks), anchorHeight, maxAnchorHeight } : { ...standardView(ks), maxAnchorHeight: 200 };

test('a node a block behind (no transfer at its anchor) moves to the anchor t peers share and signs the same tx', () => {
  // Deposits confirm at 190; at anchor 189 peerE sees no transfer, but its scan reached 200.
  const h = new Harness({ viewFor: atAnchor(189, 200), cfgFor: (p) => (p === 'peerE' ? { anchorHeight: 189, maxAnchorHeight: 200 } : {}) }).start().run();
  const e = h.state('peerE');
  assert.equal(e.outcome, 'completed', e.endReason ?? '');
  assert.equal(e.doc!.anchorHeight, 200);
  assert.equal(e.result!.txid, h.state('peerA').result!.txid);
  const tl = readTimeline(h.dbs.get('peerE')!, ROUND);
  assert.ok(tl.entries.some((x) => x.decision === 'wait'), 'waited for peers instead of skipping');
  const moved = tl.entries.find((x) => x.decision === 're-anchored');
  assert.match(moved?.reason ?? '', /^anchor 189 -> 200: 2 transfers/);
  // Everyone proposed the same document, so peerE is in every signing set.
  const sets = h.wire.filter((m) => m.type === MSG.signingSet).map((m) => (m.payload as { members: string[] }).members);
  assert.ok(sets.length > 0 && sets.every((s) => s.includes('peerE')));
});

test('a node a block ahead moves down to the shared anchor: its document becomes byte-identical', () => {
  const h = new Harness({ viewFor: atAnchor(201, 201) }).start().run();
  const e = h.state('peerE');
  assert.equal(e.outcome, 'completed', e.endReason ?? '');
  assert.equal(e.doc!.anchorHeight, 200);
  assert.equal(e.doc!.docHash, h.state('peerA').doc!.docHash);
  assert.match(readTimeline(h.dbs.get('peerE')!, ROUND).entries.find((x) => x.decision === 're-anchored')?.reason ?? '', /^anchor 201 -> 200/);
});

test('a node whose scan has not reached the shared anchor stays out; the others complete', () => {
  const h = new Harness({ viewFor: atAnchor(189, 189), cfgFor: (p) => (p === 'peerE' ? { anchorHeight: 189, maxAnchorHeight: 189 } : {}) }).start().run();
  assert.equal(h.state('peerE').outcome, 'skipped');
  assert.equal(h.state('peerE').endReason, 'no-transfer');
  for (const p of ['peerA', 'peerB', 'peerC', 'peerD']) assert.equal(h.state(p).outcome, 'completed');
});

test('checksum relay flood refused: a member claiming a differing checksum gets the signing sets relayed by the f + 1 most senior members only, not by everyone', () => {
  // n = 10, f = 3. peerJ (most junior) signs a checksum that differs from everyone's. Before, every
  // honest node relayed every signing set it held: 9 relayers x 9 sets, about n^2 messages to each
  // member, and the member can do it every round. Now the differing checksum is relayed by those
  // who see it, the sets by A..D only; the round still completes without peerJ.
  const n = 10;
  const h = new Harness({
    n,
    outFilter: (m) => (m.from === 'peerJ' && m.type === MSG.checksum ? { ...(m.payload as object), checksum: 'ab'.repeat(32) } : m.payload),
  }).start().run();
  const setRelays = h.wire.filter((m) => m.type === MSG.relay && (m.payload as { type: string }).type === MSG.signingSet);
  const relayers = [...new Set(setRelays.map((m) => m.from))].sort();
  assert.deepEqual(relayers, ['peerA', 'peerB', 'peerC', 'peerD']);
  assert.ok(setRelays.length <= 4 * (n - 1), `${setRelays.length} signing-set relays`);
  for (const p of h.ks.peers.filter((x) => x !== 'peerJ')) {
    const s = h.state(p);
    assert.equal(s.outcome, 'completed', `${p}: ${s.endReason}`);
    assert.deepEqual(s.culprits, []);
    assert.deepEqual(s.setAside.map((x) => [x.peer, x.code]), [['peerJ', 'CHECKSUM_MISMATCH']]);
  }
});
